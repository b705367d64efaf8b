"""Tests of nndl.layers: affine, ReLU, softmax and SVM losses, batch normalization, dropout."""
import numpy as np
import pytest

from nndl.layers import (affine_backward, affine_forward, batchnorm_backward,
                         batchnorm_forward, dropout_backward, dropout_forward, log_softmax,
                         relu_backward, relu_forward, softmax_loss, svm_loss)
from utils.gradient_check import (eval_numerical_gradient, eval_numerical_gradient_array,
                                  rel_error)


def numeric_gradients(forward, inputs, dout):
    """Numeric gradients of sum(forward(*inputs) * dout) with respect to each input."""
    return [eval_numerical_gradient_array(lambda _: forward(*inputs), array, dout)
            for array in inputs]


# ---------------------------------------------------------------------------------------
# Affine
# ---------------------------------------------------------------------------------------

def test_affine_forward_hand_example():
    # Two examples of 2 features, 3 outputs:
    #   [1, 2] @ [[1, 0, -1], [2, 1, 0]] = [5, 2, -1];  [3, 4] @ ... = [11, 4, -3]
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    w = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]])
    b = np.array([0.5, 0.0, -0.5])
    out, _ = affine_forward(x, w, b)
    np.testing.assert_array_equal(out, [[5.5, 2.0, -1.5], [11.5, 4.0, -3.5]])


def test_affine_forward_published_value():
    # Known value published in CS231n assignment 2 (FullyConnectedNets notebook,
    # "Affine layer: forward" check).
    x = np.linspace(-0.1, 0.5, num=2 * 120).reshape(2, 4, 5, 6)
    w = np.linspace(-0.2, 0.3, num=120 * 3).reshape(120, 3)
    b = np.linspace(-0.3, 0.1, num=3)
    out, _ = affine_forward(x, w, b)
    correct_out = np.array([[1.49834967, 1.70660132, 1.91485297],
                            [3.25553199, 3.5141327, 3.77273342]])
    assert rel_error(out, correct_out) < 1e-8


def test_affine_backward_matches_numeric_gradients():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 2, 3))       # flattened to D = 6 features
    w = rng.standard_normal((6, 5))
    b = rng.standard_normal(5)
    dout = rng.standard_normal((4, 5))
    _, cache = affine_forward(x, w, b)
    dx, dw, db = affine_backward(dout, cache)
    dx_num, dw_num, db_num = numeric_gradients(lambda *a: affine_forward(*a)[0],
                                               [x, w, b], dout)
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == b.shape
    assert rel_error(dx, dx_num) < 1e-7
    assert rel_error(dw, dw_num) < 1e-7
    assert rel_error(db, db_num) < 1e-7


def test_affine_forward_rejects_mismatched_weights():
    with pytest.raises(ValueError, match=r"6 features per example .* w has shape \(5, 3\)"):
        affine_forward(np.zeros((2, 2, 3)), np.zeros((5, 3)), np.zeros(3))


# ---------------------------------------------------------------------------------------
# ReLU
# ---------------------------------------------------------------------------------------

def test_relu_forward_and_backward_hand_example():
    x = np.array([[-2.0, -0.5, 0.0], [0.5, 3.0, -1e-3]])
    out, cache = relu_forward(x)
    np.testing.assert_array_equal(out, [[0.0, 0.0, 0.0], [0.5, 3.0, 0.0]])
    dout = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    # The gradient passes only where x > 0 (at x = 0 the convention is 0).
    np.testing.assert_array_equal(relu_backward(dout, cache), [[0, 0, 0], [4.0, 5.0, 0]])


def test_relu_backward_matches_numeric_gradient():
    rng = np.random.default_rng(1)
    # Keep every entry at least 0.1 away from the kink at 0.
    x = rng.standard_normal((5, 6))
    x = np.sign(x) * (np.abs(x) + 0.1)
    dout = rng.standard_normal((5, 6))
    _, cache = relu_forward(x)
    dx_num = eval_numerical_gradient_array(lambda v: relu_forward(v)[0], x, dout)
    assert rel_error(relu_backward(dout, cache), dx_num) < 1e-10


# ---------------------------------------------------------------------------------------
# Softmax loss
# ---------------------------------------------------------------------------------------

def test_log_softmax_rows_are_normalized_and_shift_invariant():
    scores = np.random.default_rng(2).standard_normal((4, 5))
    log_probs = log_softmax(scores)
    np.testing.assert_allclose(np.exp(log_probs).sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(log_softmax(scores + 123.0), log_probs, atol=1e-12)


def test_softmax_loss_of_zero_scores_is_log_num_classes():
    num_examples, num_classes = 6, 10
    y = np.arange(num_examples) % num_classes
    loss, dscores = softmax_loss(np.zeros((num_examples, num_classes)), y)
    assert loss == pytest.approx(np.log(num_classes), rel=1e-12)
    # Every class has probability 1/C; the gradient is (p - onehot) / N.
    expected = np.full((num_examples, num_classes), 1 / num_classes)
    expected[np.arange(num_examples), y] -= 1
    np.testing.assert_allclose(dscores, expected / num_examples, atol=1e-15)


def test_softmax_loss_is_stable_for_huge_scores():
    scores = np.array([[1e4, 0.0, -1e4],
                       [0.0, 1e4, 1e4]])
    y = np.array([0, 1])
    with np.errstate(over='raise', invalid='raise', divide='raise'):
        loss, dscores = softmax_loss(scores, y)
    # Example 0 is certain and right (loss 0); example 1 splits 50/50 between classes
    # 1 and 2 (loss log 2). The mean is log(2) / 2.
    assert loss == pytest.approx(np.log(2) / 2, rel=1e-12)
    np.testing.assert_allclose(dscores, [[0.0, 0.0, 0.0], [0.0, -0.25, 0.25]], atol=1e-15)


def test_softmax_loss_gradient_matches_numeric_gradient():
    rng = np.random.default_rng(3)
    scores = rng.standard_normal((7, 5))
    y = rng.integers(5, size=7)
    _, dscores = softmax_loss(scores, y)
    dscores_num = eval_numerical_gradient(lambda s: softmax_loss(s, y)[0], scores, verbose=False)
    assert rel_error(dscores, dscores_num) < 1e-7


@pytest.mark.parametrize("labels, message", [
    ([0, 3], r"labels must lie in \[0, 3\), got min 0 and max 3"),
    ([-1, 0], r"labels must lie in \[0, 3\), got min -1 and max 0"),
    ([[0, 1]], r"y has shape \(1, 2\), expected \(2,\)"),
    ([0, 1, 2], r"y has shape \(3,\), expected \(2,\)"),
    ([0.0, 1.0], r"labels must be integers, got dtype float64"),
    ([True, False], r"labels must be integers, got dtype bool"),
])
def test_softmax_loss_rejects_bad_labels(labels, message):
    with pytest.raises(ValueError, match=message):
        softmax_loss(np.zeros((2, 3)), np.array(labels))


def test_softmax_loss_rejects_scores_that_are_not_2d():
    with pytest.raises(ValueError, match=r"scores must be \(N, C\), got shape \(3,\)"):
        softmax_loss(np.zeros(3), np.array([0]))


# ---------------------------------------------------------------------------------------
# Batch normalization
# ---------------------------------------------------------------------------------------

def test_batchnorm_train_output_has_zero_mean_unit_std_then_gamma_beta():
    rng = np.random.default_rng(4)
    x = 5 * rng.standard_normal((200, 3)) + 12
    out, _ = batchnorm_forward(x, np.ones(3), np.zeros(3), {'mode': 'train'})
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(out.std(axis=0), 1.0, atol=1e-5)
    gamma, beta = np.array([1.0, 2.0, 3.0]), np.array([11.0, 12.0, 13.0])
    out, _ = batchnorm_forward(x, gamma, beta, {'mode': 'train'})
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=1e-10)
    np.testing.assert_allclose(out.std(axis=0), gamma, rtol=1e-5)


def test_batchnorm_running_averages_use_the_biased_batch_variance_and_leave_x_alone():
    rng = np.random.default_rng(6)
    x = 2 * rng.standard_normal((50, 3)) - 1
    x_before = x.copy()
    bn_param = {'mode': 'train', 'momentum': 0.8}
    batchnorm_forward(x, np.ones(3), np.zeros(3), bn_param)
    np.testing.assert_allclose(bn_param['running_mean'], 0.2 * x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn_param['running_var'], 0.8 + 0.2 * x.var(axis=0), rtol=1e-12)
    assert np.array_equal(x, x_before)


def test_batchnorm_backward_matches_numeric_gradients():
    rng = np.random.default_rng(5)
    x = 3 * rng.standard_normal((6, 4)) + 2
    gamma = rng.standard_normal(4)
    beta = rng.standard_normal(4)
    dout = rng.standard_normal((6, 4))
    _, cache = batchnorm_forward(x, gamma, beta, {'mode': 'train'})
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    forward = lambda *a: batchnorm_forward(*a, {'mode': 'train'})[0]
    dx_num, dgamma_num, dbeta_num = numeric_gradients(forward, [x, gamma, beta], dout)
    assert rel_error(dx, dx_num) < 1e-7
    assert rel_error(dgamma, dgamma_num) < 1e-8
    assert rel_error(dbeta, dbeta_num) < 1e-8


def test_batchnorm_rejects_a_bad_mode_and_a_test_mode_cache():
    with pytest.raises(ValueError, match=r"'train' or 'test', got 'eval'"):
        batchnorm_forward(np.zeros((2, 3)), np.ones(3), np.zeros(3), {'mode': 'eval'})
    _, cache = batchnorm_forward(np.zeros((2, 3)), np.ones(3), np.zeros(3), {'mode': 'test'})
    with pytest.raises(ValueError, match="'train' mode"):
        batchnorm_backward(np.zeros((2, 3)), cache)


# ---------------------------------------------------------------------------------------
# Multiclass SVM loss
# ---------------------------------------------------------------------------------------

def test_svm_loss_hand_example():
    # Example 0 (label 0): margins 2 - 3 + 1 = 0 and 4 - 3 + 1 = 2; example 1 (label 2):
    # margins 1 - 0 + 1 = 2 and 0.5 - 0 + 1 = 1.5. Mean: (2 + 3.5) / 2.
    scores = np.array([[3.0, 2.0, 4.0], [1.0, 0.5, 0.0]])
    loss, dscores = svm_loss(scores, np.array([0, 2]))
    assert loss == pytest.approx(2.75)
    np.testing.assert_allclose(dscores, [[-0.5, 0.0, 0.5], [0.5, 0.5, -1.0]])


def test_svm_loss_gradient_matches_numeric_gradient():
    rng = np.random.default_rng(11)
    scores = rng.standard_normal((20, 6))
    y = rng.integers(6, size=20)
    _, dscores = svm_loss(scores, y)
    numeric = eval_numerical_gradient(lambda s: svm_loss(s, y)[0], scores, verbose=False)
    assert rel_error(numeric, dscores) < 1e-8


def test_svm_loss_of_random_scores_is_about_num_classes_minus_one():
    # Scores near zero: each of the C - 1 wrong classes has a margin of about 1
    # (CS231n's sanity check, 9 for CIFAR-10).
    rng = np.random.default_rng(12)
    loss, _ = svm_loss(0.001 * rng.standard_normal((50, 10)), rng.integers(10, size=50))
    assert loss == pytest.approx(9.0, abs=0.02)


def test_svm_loss_rejects_bad_labels():
    with pytest.raises(ValueError, match=r"svm_loss: labels must lie in \[0, 3\)"):
        svm_loss(np.zeros((2, 3)), np.array([0, 3]))


# ---------------------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize('keep', [0.25, 0.4, 0.7])
def test_dropout_keeps_a_share_p_and_preserves_the_mean(keep):
    x = np.random.default_rng(13).standard_normal((500, 500)) + 10
    out, _ = dropout_forward(x, {'mode': 'train', 'p': keep, 'seed': 123})
    assert np.mean(out != 0) == pytest.approx(keep, abs=0.01)
    assert out.mean() == pytest.approx(x.mean(), rel=0.01)
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / keep)
    test_out, _ = dropout_forward(x, {'mode': 'test', 'p': keep})
    assert test_out is x


def test_dropout_backward_matches_numeric_gradient():
    rng = np.random.default_rng(14)
    x, dout = rng.standard_normal((10, 10)) + 10, rng.standard_normal((10, 10))
    param = {'mode': 'train', 'p': 0.2, 'seed': 123}
    _, cache = dropout_forward(x, param)
    dx = dropout_backward(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda v: dropout_forward(v, param)[0], x, dout)
    assert rel_error(dx, dx_num) < 1e-10
    _, test_cache = dropout_forward(x, {'mode': 'test', 'p': 0.2})
    assert dropout_backward(dout, test_cache) is dout


def test_dropout_without_seed_follows_numpys_global_seed():
    x = np.ones((4, 6))
    np.random.seed(231)
    first, _ = dropout_forward(x, {'mode': 'train', 'p': 0.5})
    second, _ = dropout_forward(x, {'mode': 'train', 'p': 0.5})
    np.random.seed(231)
    again, _ = dropout_forward(x, {'mode': 'train', 'p': 0.5})
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)


@pytest.mark.parametrize('param, message', [
    ({'mode': 'train', 'p': 0.0}, r"keep probability in \(0, 1\], got 0.0"),
    ({'mode': 'train', 'p': 1.5}, r"keep probability in \(0, 1\], got 1.5"),
    ({'mode': 'eval', 'p': 0.5}, r"'train' or 'test', got 'eval'"),
])
def test_dropout_rejects_bad_parameters(param, message):
    with pytest.raises(ValueError, match=message):
        dropout_forward(np.ones(3), param)
