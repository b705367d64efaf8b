"""Numeric gradient checks of the sandwich layers in utils.conv_layer_utils."""
import numpy as np
import pytest

from utils.conv_layer_utils import (conv_bn_relu_backward, conv_bn_relu_forward,
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
