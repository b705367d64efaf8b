"""Numeric gradient checks of the fully connected sandwich layers in nndl.layer_utils."""
import numpy as np

from nndl.layer_utils import (affine_batchnorm_relu_backward, affine_batchnorm_relu_forward,
                              affine_relu_backward, affine_relu_forward)
from nndl.layers import affine_forward
from utils.gradient_check import eval_numerical_gradient_array, rel_error


def test_affine_relu_forward_is_relu_of_affine_and_backward_matches_numeric_gradients():
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(shape) for shape in ((2, 3, 4), (12, 10), (10,)))
    out, cache = affine_relu_forward(x, w, b)
    np.testing.assert_array_equal(out, np.maximum(affine_forward(x, w, b)[0], 0))
    dout = rng.standard_normal(out.shape)
    dx, dw, db = affine_relu_backward(dout, cache)
    assert dx.shape == x.shape
    assert rel_error(dx, eval_numerical_gradient_array(
        lambda v: affine_relu_forward(v, w, b)[0], x, dout)) < 1e-8
    assert rel_error(dw, eval_numerical_gradient_array(
        lambda v: affine_relu_forward(x, v, b)[0], w, dout)) < 1e-8
    assert rel_error(db, eval_numerical_gradient_array(
        lambda v: affine_relu_forward(x, w, v)[0], b, dout)) < 1e-8


def test_affine_batchnorm_relu_backward_matches_numeric_gradients():
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((6, 5)), rng.standard_normal((5, 4)), rng.standard_normal(4)
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    inputs = [x, w, b, gamma, beta]

    def forward(*values):
        return affine_batchnorm_relu_forward(*values, {'mode': 'train'})[0]

    out, cache = affine_batchnorm_relu_forward(*inputs, {'mode': 'train'})
    assert out.shape == (6, 4) and out.min() >= 0
    dout = rng.standard_normal(out.shape)
    grads = affine_batchnorm_relu_backward(dout, cache)
    for position, grad in enumerate(grads):
        def f(value, position=position):
            values = list(inputs)
            values[position] = value
            return forward(*values)
        numeric = eval_numerical_gradient_array(f, inputs[position], dout)
        # atol: b's gradient is zero (batchnorm subtracts the mean), up to rounding.
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8, err_msg=str(position))
    np.testing.assert_allclose(grads[2], 0, atol=1e-12)
