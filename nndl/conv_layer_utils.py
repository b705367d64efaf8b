"""Sandwich layers: a convolution followed by the layers that usually come after it.

Each forward function chains the fast layers of utils.fast_layers (convolution, spatial
batch normalization, max pooling) with ReLU (nndl.layers), and returns ``(out, cache)``;
the matching backward function takes ``dout`` and that cache and returns the gradients of
the forward function's array inputs, in the order it took them. Being built on the
provided layers only, they work whatever the state of nndl/conv_layers.py.

Shapes: x (N, C, H, W), w (F, C, HH, WW), b (F,), gamma and beta (F,). The convolution
gives (N, F, H_conv, W_conv) with H_conv = (H + 2 * pad_h - HH) // stride_h + 1 (W_conv
likewise); pooling then gives (N, F, H_pool, W_pool) with
H_pool = (H_conv - pool_height) // pool_stride_h + 1 (W_pool likewise).

ReLU then max pooling is computed as max pooling then ReLU: the two commute, because
ReLU never swaps the order of two numbers (max of the ReLUs = ReLU of the max), and the
gradients agree too (each window's gradient reaches its maximum only if that maximum is
positive). The results are exactly the same, bit for bit, and ReLU works on the pooled
output, pool_height * pool_width times smaller than the convolution's.
"""
from nndl.layers import relu_backward, relu_forward
from utils.fast_layers import (conv_backward_fast, conv_forward_fast, max_pool_backward_fast,
                               max_pool_forward_fast, spatial_batchnorm_backward_fast,
                               spatial_batchnorm_forward_fast)


def conv_relu_forward(x, w, b, conv_param):
    """Convolution, then ReLU.

    Inputs: x (N, C, H, W), w (F, C, HH, WW), b (F,), conv_param as for conv_forward_fast.
    Returns: out (N, F, H_conv, W_conv) and cache = (conv_cache, relu_cache).
    """
    conv_out, conv_cache = conv_forward_fast(x, w, b, conv_param)
    out, relu_cache = relu_forward(conv_out)
    return out, (conv_cache, relu_cache)


def conv_relu_backward(dout, cache):
    """Backward pass of conv_relu_forward.

    Inputs: dout (N, F, H_conv, W_conv) and the cache of the forward pass.
    Returns: dx (N, C, H, W), dw (F, C, HH, WW), db (F,).
    """
    conv_cache, relu_cache = cache
    dconv = relu_backward(dout, relu_cache)
    return conv_backward_fast(dconv, conv_cache)


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """Convolution, ReLU, then max pooling.

    Inputs: x (N, C, H, W), w (F, C, HH, WW), b (F,), conv_param as for conv_forward_fast,
    pool_param as for max_pool_forward_fast.
    Returns: out (N, F, H_pool, W_pool) and cache = (conv_cache, pool_cache, relu_cache)
    (pooling is done before ReLU, with the same results: see the module docstring).
    """
    conv_out, conv_cache = conv_forward_fast(x, w, b, conv_param)
    pool_out, pool_cache = max_pool_forward_fast(conv_out, pool_param)
    out, relu_cache = relu_forward(pool_out)
    return out, (conv_cache, pool_cache, relu_cache)


def conv_relu_pool_backward(dout, cache):
    """Backward pass of conv_relu_pool_forward.

    Inputs: dout (N, F, H_pool, W_pool) and the cache of the forward pass.
    Returns: dx (N, C, H, W), dw (F, C, HH, WW), db (F,).
    """
    conv_cache, pool_cache, relu_cache = cache
    dpool = relu_backward(dout, relu_cache)
    dconv = max_pool_backward_fast(dpool, pool_cache)
    return conv_backward_fast(dconv, conv_cache)


def conv_bn_relu_forward(x, w, b, gamma, beta, conv_param, bn_param):
    """Convolution, spatial batch normalization, then ReLU.

    Inputs: x (N, C, H, W), w (F, C, HH, WW), b (F,), gamma (F,), beta (F,), conv_param as
    for conv_forward_fast, bn_param as for spatial_batchnorm_forward_fast (its running
    averages are updated in place in 'train' mode).
    Returns: out (N, F, H_conv, W_conv) and cache = (conv_cache, bn_cache, relu_cache).
    """
    conv_out, conv_cache = conv_forward_fast(x, w, b, conv_param)
    bn_out, bn_cache = spatial_batchnorm_forward_fast(conv_out, gamma, beta, bn_param)
    out, relu_cache = relu_forward(bn_out)
    return out, (conv_cache, bn_cache, relu_cache)


def conv_bn_relu_backward(dout, cache):
    """Backward pass of conv_bn_relu_forward (batch normalization in 'train' mode).

    Inputs: dout (N, F, H_conv, W_conv) and the cache of the forward pass.
    Returns: dx (N, C, H, W), dw (F, C, HH, WW), db (F,), dgamma (F,), dbeta (F,).
    """
    conv_cache, bn_cache, relu_cache = cache
    dbn = relu_backward(dout, relu_cache)
    dconv, dgamma, dbeta = spatial_batchnorm_backward_fast(dbn, bn_cache)
    dx, dw, db = conv_backward_fast(dconv, conv_cache)
    return dx, dw, db, dgamma, dbeta


def conv_bn_relu_pool_forward(x, w, b, gamma, beta, conv_param, bn_param, pool_param):
    """Convolution, spatial batch normalization, ReLU, then max pooling.

    Inputs: as for conv_bn_relu_forward, plus pool_param as for max_pool_forward_fast.
    Returns: out (N, F, H_pool, W_pool) and
    cache = (conv_cache, bn_cache, pool_cache, relu_cache) (pooling is done before ReLU,
    with the same results: see the module docstring).
    """
    conv_out, conv_cache = conv_forward_fast(x, w, b, conv_param)
    bn_out, bn_cache = spatial_batchnorm_forward_fast(conv_out, gamma, beta, bn_param)
    pool_out, pool_cache = max_pool_forward_fast(bn_out, pool_param)
    out, relu_cache = relu_forward(pool_out)
    return out, (conv_cache, bn_cache, pool_cache, relu_cache)


def conv_bn_relu_pool_backward(dout, cache):
    """Backward pass of conv_bn_relu_pool_forward (batch normalization in 'train' mode).

    Inputs: dout (N, F, H_pool, W_pool) and the cache of the forward pass.
    Returns: dx (N, C, H, W), dw (F, C, HH, WW), db (F,), dgamma (F,), dbeta (F,).
    """
    conv_cache, bn_cache, pool_cache, relu_cache = cache
    dpool = relu_backward(dout, relu_cache)
    dbn = max_pool_backward_fast(dpool, pool_cache)
    dconv, dgamma, dbeta = spatial_batchnorm_backward_fast(dbn, bn_cache)
    dx, dw, db = conv_backward_fast(dconv, conv_cache)
    return dx, dw, db, dgamma, dbeta
