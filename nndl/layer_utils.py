"""Sandwich layers of fully connected networks: an affine layer and what usually follows it.

Each forward function chains layers of nndl.layers and returns ``(out, cache)``; the
matching backward function takes ``dout`` and that cache and returns the gradients of the
forward function's array inputs, in the order it took them. The convolutional sandwich
layers are in nndl.conv_layer_utils.

Shapes: x (N, d_1, ..., d_k), flattened to (N, D) with D = d_1 * ... * d_k; w (D, M);
b, gamma and beta (M,); out (N, M).
"""
from nndl.layers import (affine_backward, affine_forward, batchnorm_backward, batchnorm_forward,
                         relu_backward, relu_forward)


def affine_relu_forward(x, w, b):
    """Affine layer, then ReLU.

    Inputs: x (N, d_1, ..., d_k), w (D, M), b (M,).
    Returns: out (N, M) and cache = (fc_cache, relu_cache).
    """
    hidden, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(hidden)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """Backward pass of affine_relu_forward.

    Inputs: dout (N, M) and the cache of the forward pass.
    Returns: dx (N, d_1, ..., d_k), dw (D, M), db (M,).
    """
    fc_cache, relu_cache = cache
    dhidden = relu_backward(dout, relu_cache)
    return affine_backward(dhidden, fc_cache)


def affine_batchnorm_relu_forward(x, w, b, gamma, beta, bn_param):
    """Affine layer, batch normalization, then ReLU.

    Inputs: x (N, d_1, ..., d_k), w (D, M), b (M,), gamma (M,), beta (M,), bn_param as for
    nndl.layers.batchnorm_forward (its running averages are updated in place in 'train'
    mode).
    Returns: out (N, M) and cache = (fc_cache, bn_cache, relu_cache).
    """
    hidden, fc_cache = affine_forward(x, w, b)
    normalized, bn_cache = batchnorm_forward(hidden, gamma, beta, bn_param)
    out, relu_cache = relu_forward(normalized)
    return out, (fc_cache, bn_cache, relu_cache)


def affine_batchnorm_relu_backward(dout, cache):
    """Backward pass of affine_batchnorm_relu_forward (batch normalization in 'train' mode).

    Inputs: dout (N, M) and the cache of the forward pass.
    Returns: dx (N, d_1, ..., d_k), dw (D, M), db (M,), dgamma (M,), dbeta (M,).
    """
    fc_cache, bn_cache, relu_cache = cache
    dnormalized = relu_backward(dout, relu_cache)
    dhidden, dgamma, dbeta = batchnorm_backward(dnormalized, bn_cache)
    dx, dw, db = affine_backward(dhidden, fc_cache)
    return dx, dw, db, dgamma, dbeta
