"""Numeric gradient checks of the sandwich layers in nndl.conv_layer_utils."""
import numpy as np
import pytest

from nndl.conv_layer_utils import (conv_bn_relu_backward, conv_bn_relu_forward,
                                    conv_bn_relu_pool_backward, conv_bn_relu_pool_forward,
                                    conv_relu_backward, conv_relu_forward,
                                    conv_relu_pool_backward, conv_relu_pool_forward)
from utils.fast_layers import conv_forward_fast
from utils.gradient_check import eval_numerical_gradient_array, rel_error

CONV_PARAM = {'stride': 1, 'pad': 1}
POOL_PARAM = {'pool_height': 2, 'pool_width': 2, 'stride': 2}


def small_inputs(seed=0):
    """x (2, 3, 6, 6), w (4, 3, 3, 3), b (4,), gamma (4,), beta (4,), all float64."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3, 6, 6))
    w = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    gamma = 1 + 0.1 * rng.standard_normal(4)
    beta = 0.1 * rng.standard_normal(4)
    return x, w, b, gamma, beta


def check_gradients(forward, backward, inputs, seed=1):
    """Compare backward's gradients with numeric ones for every array in inputs."""
    out, cache = forward(*inputs)
    dout = np.random.default_rng(seed).standard_normal(out.shape)
    grads = backward(dout, cache)
    assert len(grads) == len(inputs)
    for position, (array, grad) in enumerate(zip(inputs, grads)):
        numeric = eval_numerical_gradient_array(lambda _: forward(*inputs)[0], array, dout)
        assert grad.shape == array.shape
        # Relative error, except for gradients that vanish (the conv bias under batchnorm).
        close = rel_error(grad, numeric) < 1e-6 or np.max(np.abs(grad - numeric)) < 1e-8
        assert close, f"gradient of input {position}"
    return out


def test_conv_relu_gradients():
    x, w, b, _, _ = small_inputs()
    out = check_gradients(lambda *a: conv_relu_forward(*a, CONV_PARAM), conv_relu_backward,
                          [x, w, b])
    conv_out, _ = conv_forward_fast(x, w, b, CONV_PARAM)
    np.testing.assert_array_equal(out, np.maximum(conv_out, 0))


def test_conv_relu_pool_gradients():
    x, w, b, _, _ = small_inputs(seed=2)
    out = check_gradients(lambda *a: conv_relu_pool_forward(*a, CONV_PARAM, POOL_PARAM),
                          conv_relu_pool_backward, [x, w, b])
    assert out.shape == (2, 4, 3, 3)


@pytest.mark.parametrize('pool', [False, True])
def test_conv_bn_relu_gradients(pool):
    x, w, b, gamma, beta = small_inputs(seed=3)
    if pool:
        forward = lambda *a: conv_bn_relu_pool_forward(*a, CONV_PARAM, {'mode': 'train'},
                                                       POOL_PARAM)
        backward = conv_bn_relu_pool_backward
    else:
        forward = lambda *a: conv_bn_relu_forward(*a, CONV_PARAM, {'mode': 'train'})
        backward = conv_bn_relu_backward
    out = check_gradients(forward, backward, [x, w, b, gamma, beta])
    assert out.shape == ((2, 4, 3, 3) if pool else (2, 4, 6, 6))


def test_conv_bn_relu_normalizes_each_channel_before_relu():
    # With gamma = 1 and beta = 0 every channel of the batch-normalized convolution has
    # mean 0 and variance 1, so about half of it survives the ReLU; the conv bias cancels.
    x, w, b, _, _ = small_inputs(seed=4)
    out, _ = conv_bn_relu_forward(x, w, b, np.ones(4), np.zeros(4), CONV_PARAM,
                                  {'mode': 'train'})
    out_other_bias, _ = conv_bn_relu_forward(x, w, b + 5.0, np.ones(4), np.zeros(4),
                                             CONV_PARAM, {'mode': 'train'})
    np.testing.assert_allclose(out, out_other_bias, atol=1e-9)
    positive_fraction = (out > 0).mean(axis=(0, 2, 3))
    assert np.all((positive_fraction > 0.2) & (positive_fraction < 0.8))


@pytest.mark.parametrize('pool_param', [POOL_PARAM,
                                        {'pool_height': 3, 'pool_width': 2, 'stride': 1}])
def test_relu_pool_sandwich_equals_relu_then_pool_exactly(pool_param):
    # The sandwich pools before its ReLU; that must give the results of ReLU then pooling,
    # bit for bit, also where a window is all negative, holds zeros or ties (the integer
    # weights below make many of each), and with overlapping windows.
    from nndl.layers import relu_backward, relu_forward
    from utils.fast_layers import (conv_backward_fast, max_pool_backward_fast,
                                   max_pool_forward_fast)
    rng = np.random.default_rng(5)
    x = rng.integers(-2, 3, (3, 2, 7, 7)).astype(np.float64)
    w = rng.integers(-1, 2, (4, 2, 3, 3)).astype(np.float64)
    b = np.array([0.0, -3.0, 1.0, -40.0])          # the last channel is negative everywhere
    out, cache = conv_relu_pool_forward(x, w, b, CONV_PARAM, pool_param)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_relu_pool_backward(dout, cache)

    conv_out, conv_cache = conv_forward_fast(x, w, b, CONV_PARAM)
    assert np.mean(conv_out == 0) > 0.05 and np.all(conv_out[:, 3] < 0)
    relu_out, relu_cache = relu_forward(conv_out)
    expected, pool_cache = max_pool_forward_fast(relu_out, pool_param)
    dconv = relu_backward(max_pool_backward_fast(dout, pool_cache), relu_cache)
    expected_grads = conv_backward_fast(dconv, conv_cache)
    np.testing.assert_array_equal(out, expected)
    for grad, expected_grad in zip((dx, dw, db), expected_grads):
        np.testing.assert_array_equal(grad, expected_grad)
