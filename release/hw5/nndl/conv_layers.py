"""Convolutional layers, written with loops: the functions you implement in this assignment.

Shapes follow the (N, C, H, W) convention throughout:
  N examples, C channels, H rows (height), W columns (width).
Every layer is a pair: ``*_forward`` returns ``(out, cache)`` and ``*_backward`` takes the
upstream gradient ``dout`` with that cache and returns the gradients of the inputs.

The checks at the top of each function (shapes, stride, pad) are given to you: by the time
your code runs, the inputs are known to be consistent. Write your code between the
``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines (in your copy, where it says
``raise NotImplementedError``). You may change the cache to hold whatever your backward
pass needs, as long as your forward and backward agree.
"""
from numbers import Integral

import numpy as np

from nndl.layers import batchnorm_backward, batchnorm_forward


# ----------------------------------------------------------------------------------------
# Arithmetic of convolution and pooling layers
# ----------------------------------------------------------------------------------------

def as_pair(value, name, minimum):
    """Return ``value`` as a (height, width) pair of Python ints, each >= ``minimum``.

    ``value`` is an integer (the same for both axes) or a pair of integers. Anything else
    (a float such as 1.5, a negative number, a string) raises ValueError naming ``name``.
    """
    is_sequence = isinstance(value, (tuple, list)) or np.ndim(value) == 1
    pair = tuple(value) if is_sequence else (value, value)
    if len(pair) != 2 or not all(
            isinstance(v, Integral) and not isinstance(v, bool) for v in pair):
        raise ValueError(f"{name} must be an integer or a (height, width) pair of integers, "
                         f"got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


def conv_output_size(input_size, kernel_size, stride=1, pad=0):
    """Spatial output size (H_out, W_out) of a convolution or pooling layer.

    Per axis, a window of size ``kernel`` slides over the input padded by ``pad`` on both
    sides, in steps of ``stride``; positions where the window would stick out are dropped:
        out = (in + 2 * pad - kernel) // stride + 1

    Inputs (each an int for both axes, or a (height, width) pair):
    - input_size: (H, W) of the input.
    - kernel_size: (HH, WW) of the filter or pooling window.
    - stride: step between windows, >= 1.
    - pad: zeros added on each side, >= 0.

    Returns: (H_out, W_out), a pair of ints, each >= 1.
    Raises ValueError if the window is larger than the padded input (no output at all).
    """
    height, width = as_pair(input_size, 'input_size', 1)
    kernel_h, kernel_w = as_pair(kernel_size, 'kernel_size', 1)
    stride_h, stride_w = as_pair(stride, 'stride', 1)
    pad_h, pad_w = as_pair(pad, 'pad', 0)
    _check_window_fits((height, width), (kernel_h, kernel_w), (pad_h, pad_w))
    # YOUR CODE HERE
    raise NotImplementedError('conv_output_size: your code goes here')
    return out_h, out_w


def conv_param_count(in_channels, out_channels, kernel_size, bias=True):
    """Number of learnable parameters of a convolutional layer.

    Each of the ``out_channels`` filters has one weight per input channel and kernel
    position, plus one bias if ``bias`` is true.

    Inputs:
    - in_channels: C, channels of the input.
    - out_channels: F, number of filters.
    - kernel_size: (HH, WW) pair, or an int for a square kernel.
    - bias: whether each filter has a bias.

    Returns: an int.
    """
    kernel_h, kernel_w = as_pair(kernel_size, 'kernel_size', 1)
    # YOUR CODE HERE
    raise NotImplementedError('conv_param_count: your code goes here')
    return count


def _check_conv_inputs(x, w, b, conv_param):
    """Validate the inputs of a convolution; return ((stride_h, stride_w), (pad_h, pad_w))."""
    if np.ndim(x) != 4 or np.ndim(w) != 4:
        raise ValueError(f"conv layer: x must be (N, C, H, W) and w (F, C, HH, WW), got "
                         f"x {np.shape(x)} and w {np.shape(w)}")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"conv layer: x has {x.shape[1]} channels but w expects {w.shape[1]} "
                         f"(x {x.shape}, w {w.shape})")
    if np.shape(b) != (w.shape[0],):
        raise ValueError(f"conv layer: b must have shape ({w.shape[0]},), got {np.shape(b)}")
    stride = as_pair(conv_param.get('stride', 1), 'stride', 1)
    pad = as_pair(conv_param.get('pad', 0), 'pad', 0)
    _check_window_fits(x.shape[2:], w.shape[2:], pad)
    return stride, pad


def _check_pool_inputs(x, pool_param):
    """Validate the inputs of a pooling layer; return ((pool_h, pool_w), (stride_h, stride_w))."""
    if np.ndim(x) != 4:
        raise ValueError(f"pool layer: x must be (N, C, H, W), got shape {np.shape(x)}")
    window = as_pair((pool_param.get('pool_height', 2), pool_param.get('pool_width', 2)),
                     '(pool_height, pool_width)', 1)
    stride = as_pair(pool_param.get('stride', 2), 'stride', 1)
    _check_window_fits(x.shape[2:], window, (0, 0))
    return window, stride


def _check_window_fits(input_hw, window_hw, pad_hw):
    """Raise ValueError if a window of ``window_hw`` does not fit the padded input at all."""
    for axis, size, window, pad in zip(('height', 'width'), input_hw, window_hw, pad_hw):
        if window > size + 2 * pad:
            raise ValueError(f"window {axis} {window} is larger than the padded input {axis} "
                             f"{size} + 2*{pad} = {size + 2 * pad}: the layer has no output")


# ----------------------------------------------------------------------------------------
# Convolution
# ----------------------------------------------------------------------------------------

def conv_forward_naive(x, w, b, conv_param):
    """Forward pass of a convolutional layer, written with loops.

    Each of the F filters is slid over the zero-padded input; at every position the output
    is the sum over channels and kernel positions of filter * window, plus the filter's bias.

    Inputs:
    - x: input data, shape (N, C, H, W).
    - w: filter weights, shape (F, C, HH, WW).
    - b: biases, shape (F,).
    - conv_param: dict with
      - 'stride': step between neighbouring windows, an int >= 1 or a (height, width) pair;
      - 'pad': zeros added on every side of the input, an int >= 0 or a (height, width) pair.

    Returns a tuple of:
    - out: output data, shape (N, F, H_out, W_out) where
        H_out = (H + 2 * pad_h - HH) // stride_h + 1
        W_out = (W + 2 * pad_w - WW) // stride_w + 1
    - cache: (x, w, b, conv_param)

    Hint: np.pad pads the input; loop over the output positions (i, j), and for each one
    take the (N, C, HH, WW) window of the padded input. np.tensordot (or broadcasting and
    a sum) then gives the (N, F) outputs of that position for all examples and filters.
    """
    (stride_h, stride_w), (pad_h, pad_w) = _check_conv_inputs(x, w, b, conv_param)
    out = None
    # YOUR CODE HERE
    raise NotImplementedError('conv_forward_naive: your code goes here')
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    """Backward pass of a convolutional layer, written with loops.

    Inputs:
    - dout: upstream gradient, shape (N, F, H_out, W_out).
    - cache: the cache of conv_forward_naive, (x, w, b, conv_param).

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, C, H, W).
    - dw: gradient with respect to w, shape (F, C, HH, WW).
    - db: gradient with respect to b, shape (F,).

    Hint: every output position (i, j) used one window of the padded input. Its gradient
    dout[:, :, i, j] (shape (N, F)) sends w-weighted gradient back into that window of dx,
    and window-weighted gradient into dw. Compute dx on the padded input and crop the
    padding away at the end. db is the sum of dout over everything except the filter axis.
    """
    dx, dw, db = None, None, None
    # YOUR CODE HERE
    raise NotImplementedError('conv_backward_naive: your code goes here')
    return dx, dw, db


# ----------------------------------------------------------------------------------------
# Pooling
# ----------------------------------------------------------------------------------------

def max_pool_forward_naive(x, pool_param):
    """Forward pass of a max-pooling layer, written with loops.

    Each channel of each example is pooled on its own: every output value is the maximum
    of one pool_height x pool_width window. Windows may overlap (stride smaller than the
    window) or leave the last rows/columns out (stride that does not tile the input).

    Inputs:
    - x: input data, shape (N, C, H, W).
    - pool_param: dict with
      - 'pool_height', 'pool_width': window size, ints >= 1;
      - 'stride': step between windows, an int >= 1 or a (height, width) pair.

    Returns a tuple of:
    - out: shape (N, C, H_out, W_out) with
        H_out = (H - pool_height) // stride_h + 1
        W_out = (W - pool_width) // stride_w + 1
    - cache: (x, pool_param)
    """
    (pool_h, pool_w), (stride_h, stride_w) = _check_pool_inputs(x, pool_param)
    out = None
    # YOUR CODE HERE
    raise NotImplementedError('max_pool_forward_naive: your code goes here')
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    """Backward pass of a max-pooling layer.

    The gradient of each output goes entirely to the input that was the maximum of its
    window (the first one, in row-major order, if several inputs tie); where windows
    overlap, an input collects the gradients of every window it was the maximum of.

    Inputs:
    - dout: upstream gradient, shape (N, C, H_out, W_out).
    - cache: (x, pool_param) from the forward pass.

    Returns:
    - dx: gradient with respect to x, shape (N, C, H, W).
    """
    dx = None
    # YOUR CODE HERE
    raise NotImplementedError('max_pool_backward_naive: your code goes here')
    return dx


def avg_pool_forward_naive(x, pool_param):
    """Forward pass of an average-pooling layer, written with loops.

    Every output value is the mean of one pool_height x pool_width window of its channel.

    Inputs:
    - x: input data, shape (N, C, H, W).
    - pool_param: dict with 'pool_height', 'pool_width' and 'stride', as for max pooling.

    Returns a tuple of:
    - out: shape (N, C, H_out, W_out), sizes as for max pooling.
    - cache: (x, pool_param)
    """
    (pool_h, pool_w), (stride_h, stride_w) = _check_pool_inputs(x, pool_param)
    out = None
    # YOUR CODE HERE
    raise NotImplementedError('avg_pool_forward_naive: your code goes here')
    cache = (x, pool_param)
    return out, cache


def avg_pool_backward_naive(dout, cache):
    """Backward pass of an average-pooling layer.

    Each output was the mean of pool_height * pool_width inputs, so each of those inputs
    receives that share of the output's gradient (summed over overlapping windows).

    Inputs:
    - dout: upstream gradient, shape (N, C, H_out, W_out).
    - cache: (x, pool_param) from the forward pass.

    Returns:
    - dx: gradient with respect to x, shape (N, C, H, W).
    """
    dx = None
    # YOUR CODE HERE
    raise NotImplementedError('avg_pool_backward_naive: your code goes here')
    return dx


# ----------------------------------------------------------------------------------------
# Spatial batch normalization
# ----------------------------------------------------------------------------------------

def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Forward pass of spatial batch normalization.

    Like batch normalization, but each channel has one mean and one variance, computed
    over the examples and all spatial positions (N * H * W values per channel), and one
    gamma and one beta.

    Inputs:
    - x: input data, shape (N, C, H, W).
    - gamma: per-channel scale, shape (C,).
    - beta: per-channel shift, shape (C,).
    - bn_param: dict with
      - 'mode': 'train' or 'test' (required);
      - 'eps': constant for numerical stability (default 1e-5);
      - 'momentum': weight of the old running average (default 0.9);
      - 'running_mean', 'running_var': shape (C,), updated in train mode, used in test mode.

    Returns a tuple of:
    - out: shape (N, C, H, W).
    - cache: what the backward pass needs.

    Hint: nndl.layers.batchnorm_forward normalizes the columns of an (M, D) array. Moving
    the channel axis last and flattening the rest turns x into such an array.
    """
    if np.ndim(x) != 4:
        raise ValueError(f"spatial batchnorm: x must be (N, C, H, W), got shape {np.shape(x)}")
    num_channels = x.shape[1]
    if np.shape(gamma) != (num_channels,) or np.shape(beta) != (num_channels,):
        raise ValueError(f"spatial batchnorm: gamma and beta must have shape ({num_channels},), "
                         f"got {np.shape(gamma)} and {np.shape(beta)}")
    out, cache = None, None
    # YOUR CODE HERE
    raise NotImplementedError('spatial_batchnorm_forward: your code goes here')
    return out, cache


def spatial_batchnorm_backward(dout, cache):
    """Backward pass of spatial batch normalization (train mode).

    Inputs:
    - dout: upstream gradient, shape (N, C, H, W).
    - cache: from spatial_batchnorm_forward.

    Returns a tuple of:
    - dx: shape (N, C, H, W).
    - dgamma: shape (C,).
    - dbeta: shape (C,).
    """
    dx, dgamma, dbeta = None, None, None
    # YOUR CODE HERE
    raise NotImplementedError('spatial_batchnorm_backward: your code goes here')
    return dx, dgamma, dbeta
