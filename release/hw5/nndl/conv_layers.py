"""Convolutional layers, written with loops: the functions you implement in this assignment.

Shapes follow the (N, C, H, W) convention throughout:
  N examples, C channels, H rows (height), W columns (width).
Every layer is a pair: ``*_forward`` returns ``(out, cache)`` and ``*_backward`` takes the
upstream gradient ``dout`` with that cache and returns the gradients of the inputs.

The first lines of each function are given to you: they check the inputs (shapes, stride,
pad) and read the settings into (height, width) pairs, such as ``stride_h, stride_w``, in
the forward and the backward pass alike. Where it says ``raise NotImplementedError``,
delete that line and write your code; the variables the function returns are set to None
just before, so that you can see what to compute.
"""
import numpy as np

from nndl.layers import batchnorm_backward, batchnorm_forward
from utils.conv_checks import (as_pair, check_conv_inputs, check_pool_inputs,
                               check_spatial_batchnorm_inputs, check_window_fits)


# ----------------------------------------------------------------------------------------
# Arithmetic of convolution and pooling layers
# ----------------------------------------------------------------------------------------

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
    check_window_fits((height, width), (kernel_h, kernel_w), (pad_h, pad_w))
    out_h, out_w = None, None
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
    count = None
    # YOUR CODE HERE
    raise NotImplementedError('conv_param_count: your code goes here')
    return count


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
    (stride_h, stride_w), (pad_h, pad_w) = check_conv_inputs(x, w, b, conv_param)
    out = None
    # YOUR CODE HERE
    raise NotImplementedError('conv_forward_naive: your code goes here')
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    """Backward pass of a convolutional layer, written with loops.

    Inputs:
    - dout: upstream gradient, shape (N, F, H_out, W_out).
    - cache: (x, w, b, conv_param), as conv_forward_naive returns it.

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, C, H, W).
    - dw: gradient with respect to w, shape (F, C, HH, WW).
    - db: gradient with respect to b, shape (F,).

    Hint: every output position (i, j) used one window of the padded input. Its gradient
    dout[:, :, i, j] (shape (N, F)) sends w-weighted gradient back into that window of dx,
    and window-weighted gradient into dw. Compute dx on the padded input and crop the
    padding away at the end. db is the sum of dout over everything except the filter axis.
    """
    x, w, b, conv_param = cache
    (stride_h, stride_w), (pad_h, pad_w) = check_conv_inputs(x, w, b, conv_param)
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
    (pool_h, pool_w), (stride_h, stride_w) = check_pool_inputs(x, pool_param)
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
    - cache: (x, pool_param), as the forward pass returns it.

    Returns:
    - dx: gradient with respect to x, shape (N, C, H, W).
    """
    x, pool_param = cache
    (pool_h, pool_w), (stride_h, stride_w) = check_pool_inputs(x, pool_param)
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
    (pool_h, pool_w), (stride_h, stride_w) = check_pool_inputs(x, pool_param)
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
    - cache: (x, pool_param), as the forward pass returns it.

    Returns:
    - dx: gradient with respect to x, shape (N, C, H, W).
    """
    x, pool_param = cache
    (pool_h, pool_w), (stride_h, stride_w) = check_pool_inputs(x, pool_param)
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
    check_spatial_batchnorm_inputs(x, gamma, beta)
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
