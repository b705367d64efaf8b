"""Tests of nndl.optim: the update rules against published and hand-computed steps."""
import numpy as np
import pytest

from nndl.optim import (UPDATE_RULES, adam, rmsprop, sgd, sgd_momentum,
                        sgd_nesterov_momentum)
from utils.gradient_check import rel_error

N, D = 4, 5


def linspace_grid(start, stop):
    return np.linspace(start, stop, num=N * D).reshape(N, D)


# ---------------------------------------------------------------------------------------
# Published values: CS231n assignment 2, FullyConnectedNets notebook ("SGD+Momentum",
# "RMSProp and Adam" checks). Inputs w, dw and the state are linspace grids. The values
# are printed to 8 decimals, so agreement is to about 1e-7 relative.
# ---------------------------------------------------------------------------------------

def test_sgd_momentum_published_value():
    w, dw, v = linspace_grid(-0.4, 0.6), linspace_grid(-0.6, 0.4), linspace_grid(0.6, 0.9)
    config = {'learning_rate': 1e-3, 'velocity': v}
    next_w, config = sgd_momentum(w, dw, config=config)
    expected_next_w = np.array([
        [0.1406, 0.20738947, 0.27417895, 0.34096842, 0.40775789],
        [0.47454737, 0.54133684, 0.60812632, 0.67491579, 0.74170526],
        [0.80849474, 0.87528421, 0.94207368, 1.00886316, 1.07565263],
        [1.14244211, 1.20923158, 1.27602105, 1.34281053, 1.4096]])
    expected_velocity = np.array([
        [0.5406, 0.55475789, 0.56891579, 0.58307368, 0.59723158],
        [0.61138947, 0.62554737, 0.63970526, 0.65386316, 0.66802105],
        [0.68217895, 0.69633684, 0.71049474, 0.72465263, 0.73881053],
        [0.75296842, 0.76712632, 0.78128421, 0.79544211, 0.8096]])
    assert rel_error(next_w, expected_next_w) < 1e-6
    assert rel_error(config['velocity'], expected_velocity) < 1e-6


def test_rmsprop_published_value():
    w, dw, cache = linspace_grid(-0.4, 0.6), linspace_grid(-0.6, 0.4), linspace_grid(0.6, 0.9)
    config = {'learning_rate': 1e-2, 'cache': cache}
    next_w, config = rmsprop(w, dw, config=config)
    expected_next_w = np.array([
        [-0.39223849, -0.34037513, -0.28849239, -0.23659121, -0.18467247],
        [-0.132737, -0.08078555, -0.02881884, 0.02316247, 0.07515774],
        [0.12716641, 0.17918792, 0.23122175, 0.28326742, 0.33532447],
        [0.38739248, 0.43947102, 0.49155973, 0.54365823, 0.59576619]])
    expected_cache = np.array([
        [0.5976, 0.6126277, 0.6277108, 0.64284931, 0.65804321],
        [0.67329252, 0.68859723, 0.70395734, 0.71937285, 0.73484377],
        [0.75037008, 0.7659518, 0.78158892, 0.79728144, 0.81302936],
        [0.82883269, 0.84469141, 0.86060554, 0.87657507, 0.8926]])
    assert rel_error(next_w, expected_next_w) < 1e-6
    assert rel_error(config['cache'], expected_cache) < 1e-6


def test_adam_published_value():
    w, dw = linspace_grid(-0.4, 0.6), linspace_grid(-0.6, 0.4)
    m, v = linspace_grid(0.6, 0.9), linspace_grid(0.7, 0.5)
    config = {'learning_rate': 1e-2, 'm': m, 'v': v, 't': 5}
    next_w, config = adam(w, dw, config=config)
    expected_next_w = np.array([
        [-0.40094747, -0.34836187, -0.29577703, -0.24319299, -0.19060977],
        [-0.1380274, -0.08544591, -0.03286534, 0.01971428, 0.0722929],
        [0.1248705, 0.17744702, 0.23002243, 0.28259667, 0.33516969],
        [0.38774145, 0.44031188, 0.49288093, 0.54544852, 0.59801459]])
    expected_v = np.array([
        [0.69966, 0.68908382, 0.67851319, 0.66794809, 0.65738853],
        [0.64683452, 0.63628604, 0.6257431, 0.61520571, 0.60467385],
        [0.59414753, 0.58362676, 0.57311152, 0.56260183, 0.55209767],
        [0.54159906, 0.53110598, 0.52061845, 0.51013645, 0.49966]])
    expected_m = np.array([
        [0.48, 0.49947368, 0.51894737, 0.53842105, 0.55789474],
        [0.57736842, 0.59684211, 0.61631579, 0.63578947, 0.65526316],
        [0.67473684, 0.69421053, 0.71368421, 0.73315789, 0.75263158],
        [0.77210526, 0.79157895, 0.81105263, 0.83052632, 0.85]])
    assert rel_error(next_w, expected_next_w) < 1e-6
    assert rel_error(config['v'], expected_v) < 1e-6
    assert rel_error(config['m'], expected_m) < 1e-6
    assert config['t'] == 6


# ---------------------------------------------------------------------------------------
# Hand-computed steps and defaults
# ---------------------------------------------------------------------------------------

def test_sgd_step_and_default_learning_rate():
    w, dw = np.array([1.0, -2.0]), np.array([10.0, -30.0])
    next_w, config = sgd(w, dw)
    assert config['learning_rate'] == 1e-2
    np.testing.assert_allclose(next_w, [1.0 - 0.1, -2.0 + 0.3])
    next_w, _ = sgd(w, dw, {'learning_rate': 0.5})
    np.testing.assert_allclose(next_w, [-4.0, 13.0])


def test_sgd_momentum_two_steps_by_hand():
    # lr 0.1, momentum 0.5, constant gradient 2:
    #   v1 = -0.2, w1 = 1 - 0.2 = 0.8;  v2 = 0.5 * -0.2 - 0.2 = -0.3, w2 = 0.5
    w, dw = np.array([1.0]), np.array([2.0])
    config = {'learning_rate': 0.1, 'momentum': 0.5}
    w, config = sgd_momentum(w, dw, config)
    np.testing.assert_allclose([w[0], config['velocity'][0]], [0.8, -0.2])
    w, config = sgd_momentum(w, dw, config)
    np.testing.assert_allclose([w[0], config['velocity'][0]], [0.5, -0.3])


def test_rmsprop_first_step_by_hand():
    # cache = 0.01 * 9 = 0.09, step = lr * 3 / (0.3 + eps) = 10 * lr
    w, dw = np.array([0.0]), np.array([3.0])
    next_w, config = rmsprop(w, dw, {'learning_rate': 1e-3})
    np.testing.assert_allclose(config['cache'], [0.09])
    np.testing.assert_allclose(next_w, [-1e-2], rtol=1e-6)


def test_adam_first_step_moves_every_entry_by_learning_rate():
    # With bias correction, the first step is lr * dw / (|dw| + eps): a step of size lr
    # against the sign of the gradient, whatever the gradient's scale.
    w = np.zeros(4)
    dw = np.array([1e-3, -5.0, 200.0, -0.1])
    next_w, config = adam(w, dw)
    assert config['t'] == 1 and config['learning_rate'] == 1e-3
    np.testing.assert_allclose(next_w, -1e-3 * np.sign(dw), rtol=1e-4)


def test_default_hyperparameters():
    w, dw = np.ones(3), np.ones(3)
    assert sgd_momentum(w, dw)[1]['momentum'] == 0.9
    config = rmsprop(w, dw)[1]
    assert (config['learning_rate'], config['decay_rate'], config['epsilon']) == (1e-2, 0.99,
                                                                                 1e-8)
    config = adam(w, dw)[1]
    assert (config['beta1'], config['beta2'], config['epsilon']) == (0.9, 0.999, 1e-8)


@pytest.mark.parametrize('name', sorted(UPDATE_RULES))
def test_float32_parameters_stay_float32(name):
    rule = UPDATE_RULES[name]
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 4)).astype(np.float32)
    dw = rng.standard_normal((3, 4))  # a float64 gradient must not promote w
    config = None
    for _ in range(3):
        w, config = rule(w, dw, config)
        assert w.dtype == np.float32
    for value in config.values():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32


@pytest.mark.parametrize('name', sorted(UPDATE_RULES))
def test_every_rule_decreases_a_quadratic(name):
    rule = UPDATE_RULES[name]
    w, config = np.array([3.0, -2.0]), {'learning_rate': 0.1}
    for _ in range(200):
        w, config = rule(w, 2 * w, config)  # gradient of sum(w**2)
    assert np.sum(w ** 2) < 0.5


@pytest.mark.parametrize('name', sorted(UPDATE_RULES))
def test_shape_mismatch_is_an_error(name):
    with pytest.raises(ValueError, match="shape"):
        UPDATE_RULES[name](np.zeros((2, 3)), np.zeros((3, 2)))


@pytest.mark.parametrize('name', sorted(UPDATE_RULES))
def test_w_and_dw_are_left_unchanged(name):
    # adam updates its moments in place; the parameter and its gradient must not change.
    rng = np.random.default_rng(6)
    w, dw = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    w_before, dw_before = w.copy(), dw.copy()
    config = None
    for _ in range(3):
        next_w, config = UPDATE_RULES[name](w, dw, config)
    assert np.array_equal(w, w_before) and np.array_equal(dw, dw_before)
    assert not np.shares_memory(next_w, w)


def test_adam_moments_are_exponential_averages_of_the_gradients():
    dws = [np.array([1.0, -2.0]), np.array([3.0, 0.5]), np.array([-1.0, 4.0])]
    w, config = np.zeros(2), {'beta1': 0.5, 'beta2': 0.75}
    for dw in dws:
        w, config = adam(w, dw, config)
    m = sum(0.5 * 0.5 ** (2 - k) * dw for k, dw in enumerate(dws))
    v = sum(0.25 * 0.75 ** (2 - k) * dw ** 2 for k, dw in enumerate(dws))
    np.testing.assert_allclose(config['m'], m, rtol=1e-12)
    np.testing.assert_allclose(config['v'], v, rtol=1e-12)
    assert config['t'] == 3


def test_sgd_nesterov_momentum_follows_the_look_ahead_point_of_classic_nesterov():
    # Classic Nesterov on f(w) = 0.5 * sum(a * w**2): the gradient is taken at the
    # look-ahead point w + momentum * v. sgd_nesterov_momentum keeps that point as its
    # parameter, so its iterates are the classic look-ahead points, with the same velocity.
    a = np.array([1.0, 3.0, 0.5])
    learning_rate, momentum = 0.1, 0.9
    w_classic, v_classic = np.array([1.0, -2.0, 0.5]), np.zeros(3)
    w = w_classic.copy()
    config = {'learning_rate': learning_rate, 'momentum': momentum}
    for _ in range(5):
        gradient = a * (w_classic + momentum * v_classic)
        v_classic = momentum * v_classic - learning_rate * gradient
        w_classic = w_classic + v_classic
        w, config = sgd_nesterov_momentum(w, a * w, config)
        np.testing.assert_allclose(w, w_classic + momentum * v_classic, rtol=1e-12)
        np.testing.assert_allclose(config['velocity'], v_classic, rtol=1e-12)


def test_sgd_nesterov_momentum_first_step_by_hand_and_dtype():
    w = np.array([1.0, 2.0], dtype=np.float32)
    dw = np.array([0.5, -1.0], dtype=np.float32)
    next_w, config = sgd_nesterov_momentum(w, dw, {'learning_rate': 0.1})
    # v = -0.1 * dw = [-0.05, 0.1]; w + v + 0.9 * (v - 0) = w + 1.9 * v.
    np.testing.assert_allclose(next_w, [1.0 - 0.095, 2.0 + 0.19], rtol=1e-6)
    assert next_w.dtype == np.float32 and config['velocity'].dtype == np.float32
    assert UPDATE_RULES['sgd_nesterov_momentum'] is sgd_nesterov_momentum
