"""Input checks of the convolution and pooling layers, shared by the naive and fast layers.

Strides, pads and window sizes may be an int (the same for both axes) or a
(height, width) pair; ``as_pair`` turns either into a pair of Python ints and rejects
anything else with a ValueError naming the setting. ``check_conv_inputs`` and
``check_pool_inputs`` check the shapes and settings of a layer call and return its parsed
settings, so that every layer reads them the same way.
"""
from numbers import Integral

import numpy as np


def as_pair(value, name, minimum):
    """Return ``value`` as a (height, width) pair of Python ints, each >= ``minimum``.

    ``value`` is an integer (the same for both axes) or a pair of integers. A float with
    an integer value counts as that integer: CS231n's and UCLA's ThreeLayerConvNet
    templates compute ``'pad': (filter_size - 1) / 2``, which is 1.0 in Python 3. Anything
    else (a float such as 1.5, a negative number, a string) raises ValueError naming
    ``name``.
    """
    is_sequence = isinstance(value, (tuple, list)) or np.ndim(value) == 1
    pair = tuple(value) if is_sequence else (value, value)
    pair = tuple(int(v) if isinstance(v, (float, np.floating)) and float(v).is_integer()
                 else v for v in pair)
    if len(pair) != 2 or not all(
            isinstance(v, Integral) and not isinstance(v, bool) for v in pair):
        raise ValueError(f"{name} must be an integer or a (height, width) pair of integers, "
                         f"got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


def check_window_fits(input_hw, window_hw, pad_hw):
    """Raise ValueError if a window of ``window_hw`` does not fit the padded input at all.

    input_hw, window_hw, pad_hw: (height, width) pairs of ints.
    """
    for axis, size, window, pad in zip(('height', 'width'), input_hw, window_hw, pad_hw):
        if window > size + 2 * pad:
            raise ValueError(f"window {axis} {window} is larger than the padded input {axis} "
                             f"{size} + 2*{pad} = {size + 2 * pad}: the layer has no output")


def check_conv_inputs(x, w, b, conv_param):
    """Check the inputs of a convolution; return ((stride_h, stride_w), (pad_h, pad_w)).

    x (N, C, H, W), w (F, C, HH, WW), b (F,); conv_param: 'stride' (default 1) and 'pad'
    (default 0), each an int or a (height, width) pair. Raises ValueError naming what is
    inconsistent.
    """
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
    check_window_fits(x.shape[2:], w.shape[2:], pad)
    return stride, pad


def check_pool_inputs(x, pool_param):
    """Check the inputs of a pooling layer; return ((pool_h, pool_w), (stride_h, stride_w)).

    x (N, C, H, W); pool_param: 'pool_height' and 'pool_width' (default 2 each) and
    'stride' (default 2, an int or a (height, width) pair). Raises ValueError naming what
    is inconsistent.
    """
    if np.ndim(x) != 4:
        raise ValueError(f"pool layer: x must be (N, C, H, W), got shape {np.shape(x)}")
    window = as_pair((pool_param.get('pool_height', 2), pool_param.get('pool_width', 2)),
                     '(pool_height, pool_width)', 1)
    stride = as_pair(pool_param.get('stride', 2), 'stride', 1)
    check_window_fits(x.shape[2:], window, (0, 0))
    return window, stride


def check_spatial_batchnorm_inputs(x, gamma, beta):
    """Check the inputs of spatial batch normalization: x (N, C, H, W), gamma and beta (C,)."""
    if np.ndim(x) != 4:
        raise ValueError(f"spatial batchnorm: x must be (N, C, H, W), got shape {np.shape(x)}")
    num_channels = x.shape[1]
    if np.shape(gamma) != (num_channels,) or np.shape(beta) != (num_channels,):
        raise ValueError(f"spatial batchnorm: gamma and beta must have shape ({num_channels},), "
                         f"got {np.shape(gamma)} and {np.shape(beta)}")
