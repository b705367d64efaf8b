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
    ### BEGIN SOLUTION
    out_h = (height + 2 * pad_h - kernel_h) // stride_h + 1
    out_w = (width + 2 * pad_w - kernel_w) // stride_w + 1
    ### END SOLUTION
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
    ### BEGIN SOLUTION
    count = out_channels * in_channels * kernel_h * kernel_w + (out_channels if bias else 0)
    ### END SOLUTION
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
    ### BEGIN SOLUTION
    num_filters, _, kernel_h, kernel_w = w.shape
    out_h, out_w = conv_output_size(x.shape[2:], w.shape[2:], (stride_h, stride_w),
                                    (pad_h, pad_w))
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)))
    out = np.empty((x.shape[0], num_filters, out_h, out_w), dtype=np.result_type(x, w, b))
    for i in range(out_h):
        top = i * stride_h
        for j in range(out_w):
            left = j * stride_w
            window = x_pad[:, :, top:top + kernel_h, left:left + kernel_w]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    ### END SOLUTION
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
    ### BEGIN SOLUTION
    _, _, height, width = x.shape
    _, _, kernel_h, kernel_w = w.shape
    _, _, out_h, out_w = dout.shape

    x_pad = np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)))
    dx_pad = np.zeros_like(x_pad, dtype=np.result_type(x, dout))
    dw = np.zeros_like(w, dtype=np.result_type(w, dout))
    for i in range(out_h):
        top = i * stride_h
        for j in range(out_w):
            left = j * stride_w
            window = x_pad[:, :, top:top + kernel_h, left:left + kernel_w]
            grad = dout[:, :, i, j]
            dw += np.tensordot(grad, window, axes=([0], [0]))
            dx_pad[:, :, top:top + kernel_h, left:left + kernel_w] += np.tensordot(
                grad, w, axes=([1], [0]))
    dx = dx_pad[:, :, pad_h:pad_h + height, pad_w:pad_w + width]
    db = dout.sum(axis=(0, 2, 3))
    ### END SOLUTION
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
    ### BEGIN SOLUTION
    out_h, out_w = conv_output_size(x.shape[2:], (pool_h, pool_w), (stride_h, stride_w))
    out = np.empty(x.shape[:2] + (out_h, out_w), dtype=x.dtype)
    for i in range(out_h):
        top = i * stride_h
        for j in range(out_w):
            left = j * stride_w
            out[:, :, i, j] = x[:, :, top:top + pool_h, left:left + pool_w].max(axis=(2, 3))
    ### END SOLUTION
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
    ### BEGIN SOLUTION
    num_examples, num_channels, out_h, out_w = dout.shape
    examples, channels = np.meshgrid(np.arange(num_examples), np.arange(num_channels),
                                     indexing='ij')
    dx = np.zeros_like(x, dtype=np.result_type(x, dout))
    for i in range(out_h):
        top = i * stride_h
        for j in range(out_w):
            left = j * stride_w
            window = x[:, :, top:top + pool_h, left:left + pool_w]
            flat_argmax = window.reshape(num_examples, num_channels, -1).argmax(axis=2)
            rows, cols = np.unravel_index(flat_argmax, (pool_h, pool_w))
            dx[examples, channels, top + rows, left + cols] += dout[:, :, i, j]
    ### END SOLUTION
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
    ### BEGIN SOLUTION
    out_h, out_w = conv_output_size(x.shape[2:], (pool_h, pool_w), (stride_h, stride_w))
    out = np.empty(x.shape[:2] + (out_h, out_w), dtype=np.result_type(x, np.float32))
    for i in range(out_h):
        top = i * stride_h
        for j in range(out_w):
            left = j * stride_w
            out[:, :, i, j] = x[:, :, top:top + pool_h, left:left + pool_w].mean(axis=(2, 3))
    ### END SOLUTION
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
    ### BEGIN SOLUTION
    _, _, out_h, out_w = dout.shape
    dx = np.zeros_like(x, dtype=np.result_type(dout, np.float32))
    share = dout / (pool_h * pool_w)
    for i in range(out_h):
        top = i * stride_h
        for j in range(out_w):
            left = j * stride_w
            dx[:, :, top:top + pool_h, left:left + pool_w] += share[:, :, i, j, None, None]
    ### END SOLUTION
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
    ### BEGIN SOLUTION
    num_examples, num_channels, height, width = x.shape
    columns = x.transpose(0, 2, 3, 1).reshape(-1, num_channels)
    out_columns, cache = batchnorm_forward(columns, gamma, beta, bn_param)
    out = out_columns.reshape(num_examples, height, width, num_channels).transpose(0, 3, 1, 2)
    ### END SOLUTION
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
    ### BEGIN SOLUTION
    num_examples, num_channels, height, width = dout.shape
    dout_columns = dout.transpose(0, 2, 3, 1).reshape(-1, num_channels)
    dx_columns, dgamma, dbeta = batchnorm_backward(dout_columns, cache)
    dx = dx_columns.reshape(num_examples, height, width, num_channels).transpose(0, 3, 1, 2)
    ### END SOLUTION
    return dx, dgamma, dbeta
