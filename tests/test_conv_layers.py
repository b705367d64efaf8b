"""Tests of nndl.conv_layers: output-size arithmetic, convolution, pooling, spatial batchnorm.

Every backward pass is checked against numeric gradients (float64, small seeded inputs);
forward passes against published values, hand-derived examples and a brute-force reference
written from the definition. If PyTorch is installed, the last section also compares with it.
"""
import itertools

import numpy as np
import pytest

from nndl.conv_layers import (avg_pool_backward_naive, avg_pool_forward_naive,
                              conv_backward_naive, conv_forward_naive, conv_output_size,
                              conv_param_count, max_pool_backward_naive,
                              max_pool_forward_naive, spatial_batchnorm_backward,
                              spatial_batchnorm_forward)
from nndl.layers import batchnorm_backward, batchnorm_forward
from utils.conv_checks import as_pair
from utils.gradient_check import eval_numerical_gradient_array, rel_error


def numeric_gradients(forward, inputs, dout):
    """Numeric gradients of sum(forward(*inputs) * dout) with respect to each input."""
    return [eval_numerical_gradient_array(lambda _: forward(*inputs), array, dout)
            for array in inputs]


def distinct_values(rng, shape):
    """An array of the given shape whose entries are all different (a shuffled grid with
    spacing 1/size), so max pooling has no ties and its numeric gradient is well defined."""
    size = int(np.prod(shape))
    return (rng.permutation(size).reshape(shape) - size / 2) / size


def conv_by_definition(x, w, b, stride, pad):
    """out[n, f, i, j] = b[f] + sum_{c, p, q} x_pad[n, c, i*sh + p, j*sw + q] * w[f, c, p, q],
    with explicit loops over every index: slow, but obviously the definition."""
    (stride_h, stride_w), (pad_h, pad_w) = as_pair(stride, 'stride', 1), as_pair(pad, 'pad', 0)
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)))
    num_examples, channels, height, width = x_pad.shape
    num_filters, _, kernel_h, kernel_w = w.shape
    out_h = (height - kernel_h) // stride_h + 1
    out_w = (width - kernel_w) // stride_w + 1
    out = np.zeros((num_examples, num_filters, out_h, out_w))
    for n, f, i, j in itertools.product(*map(range, out.shape)):
        total = b[f]
        for c, p, q in itertools.product(range(channels), range(kernel_h), range(kernel_w)):
            total += x_pad[n, c, i * stride_h + p, j * stride_w + q] * w[f, c, p, q]
        out[n, f, i, j] = total
    return out


def pool_by_definition(x, pool_h, pool_w, stride, reduce):
    """Pooling from the definition: reduce (np.max or np.mean) over every window."""
    stride_h, stride_w = as_pair(stride, 'stride', 1)
    out_h = (x.shape[2] - pool_h) // stride_h + 1
    out_w = (x.shape[3] - pool_w) // stride_w + 1
    out = np.zeros(x.shape[:2] + (out_h, out_w))
    for n, c, i, j in itertools.product(*map(range, out.shape)):
        top, left = i * stride_h, j * stride_w
        out[n, c, i, j] = reduce(x[n, c, top:top + pool_h, left:left + pool_w])
    return out


# ---------------------------------------------------------------------------------------
# Output-size arithmetic
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("input_hw, channels, filters, kernel, stride, out_hw, params", [
    # Worked cases: (input H x W x C, K x K filters, F channels out, stride, no padding)
    ((144, 144), 3, 6, 3, 1, (142, 142), 168),        # 6 * (3*3*3) + 6
    ((60, 60), 24, 48, 3, 1, (58, 58), 10_416),       # 48 * (3*3*24) + 48
    ((20, 20), 10, 20, 3, 2, (9, 9), 1_820),          # (20 - 3) // 2 + 1 = 9; 20 * 90 + 20
])
def test_worked_examples_of_output_size_and_parameter_count(
        input_hw, channels, filters, kernel, stride, out_hw, params):
    assert conv_output_size(input_hw, kernel, stride=stride, pad=0) == out_hw
    assert conv_param_count(channels, filters, kernel) == params


def test_parameter_count_without_bias_and_with_a_rectangular_kernel():
    assert conv_param_count(3, 6, 3, bias=False) == 162
    assert conv_param_count(3, 6, (3, 5)) == 6 * 3 * 3 * 5 + 6
    assert conv_param_count(1, 1, 1) == 2


def test_output_size_with_per_axis_pairs():
    # Height: (32 + 2*2 - 5) // 1 + 1 = 32.  Width: (28 + 0 - 3) // 2 + 1 = 13.
    assert conv_output_size((32, 28), (5, 3), stride=(1, 2), pad=(2, 0)) == (32, 13)
    # An int means the same value on both axes.
    assert conv_output_size(32, 5, stride=1, pad=2) == (32, 32)
    # "Same" padding for an odd kernel keeps the size.
    assert conv_output_size((7, 9), (3, 5), pad=(1, 2)) == (7, 9)


def test_output_size_floors_when_the_stride_does_not_fit():
    assert conv_output_size(7, 2, stride=2) == (3, 3)     # 5 / 2 = 2.5 -> 2, + 1
    assert conv_output_size(10, 3, stride=4) == (2, 2)    # 7 / 4 = 1.75 -> 1, + 1
    assert conv_output_size((5, 6), 3, stride=(3, 2), pad=(0, 1)) == (1, 3)


def test_output_size_when_the_window_exactly_fills_the_padded_input():
    assert conv_output_size(3, 5, pad=1) == (1, 1)
    assert conv_output_size((4, 4), (4, 4)) == (1, 1)


def test_conv_output_shape_matches_conv_output_size_on_a_grid():
    rng = np.random.default_rng(0)
    checked = 0
    for height, width, kernel_h, kernel_w, stride, pad in itertools.product(
            (3, 5), (4, 7), (1, 2, 3), (1, 3), (1, 2, 3, (1, 2), (3, 1)), (0, 1, 2, (0, 2))):
        x = rng.standard_normal((1, 2, height, width))
        w = rng.standard_normal((3, 2, kernel_h, kernel_w))
        out, _ = conv_forward_naive(x, w, np.zeros(3), {'stride': stride, 'pad': pad})
        expected_hw = conv_output_size((height, width), (kernel_h, kernel_w), stride, pad)
        assert out.shape == (1, 3) + expected_hw, (height, width, kernel_h, kernel_w,
                                                   stride, pad)
        checked += 1
    assert checked == 2 * 2 * 3 * 2 * 5 * 4


def test_pool_output_shape_matches_conv_output_size():
    x = np.zeros((1, 1, 7, 8))
    for pool_h, pool_w, stride in itertools.product((1, 2, 3), (2, 5), (1, 2, 3, (2, 3))):
        pool_param = {'pool_height': pool_h, 'pool_width': pool_w, 'stride': stride}
        expected = (1, 1) + conv_output_size((7, 8), (pool_h, pool_w), stride)
        assert max_pool_forward_naive(x, pool_param)[0].shape == expected
        assert avg_pool_forward_naive(x, pool_param)[0].shape == expected


def test_as_pair_takes_integer_valued_floats_as_integers():
    # CS231n's and UCLA's templates: conv_param = {'stride': 1, 'pad': (filter_size - 1) / 2}
    assert as_pair((7 - 1) / 2, 'pad', 0) == (3, 3)
    assert as_pair((np.float64(2.0), 1), 'stride', 1) == (2, 1)
    assert all(type(v) is int for v in as_pair(1.0, 'pad', 0))
    with pytest.raises(ValueError, match=r"pad must be .*got 2.5$"):
        as_pair(5 / 2, 'pad', 0)


def test_as_pair_accepts_ints_pairs_and_numpy_integers():
    assert as_pair(3, 'stride', 1) == (3, 3)
    assert as_pair((2, 5), 'stride', 1) == (2, 5)
    assert as_pair([0, 1], 'pad', 0) == (0, 1)
    pair = as_pair(np.arange(2, 4), 'stride', 1)
    assert pair == (2, 3) and all(type(v) is int for v in pair)
    assert as_pair(np.int64(2), 'stride', 1) == (2, 2)


# ---------------------------------------------------------------------------------------
# Convolution: forward
# ---------------------------------------------------------------------------------------

def test_conv_forward_published_value():
    # Known value published in CS231n assignment 2, ConvolutionalNetworks.ipynb
    # ("Convolution: Naive forward pass"); seen e.g. in the public copy
    # github.com/0809zheng/CS231n-assignment2019, assignment2/ConvolutionalNetworks.ipynb.
    x = np.linspace(-0.1, 0.5, num=2 * 3 * 4 * 4).reshape(2, 3, 4, 4)
    w = np.linspace(-0.2, 0.3, num=3 * 3 * 4 * 4).reshape(3, 3, 4, 4)
    b = np.linspace(-0.1, 0.2, num=3)
    out, _ = conv_forward_naive(x, w, b, {'stride': 2, 'pad': 1})
    correct_out = np.array([[[[-0.08759809, -0.10987781],
                              [-0.18387192, -0.2109216]],
                             [[0.21027089, 0.21661097],
                              [0.22847626, 0.23004637]],
                             [[0.50813986, 0.54309974],
                              [0.64082444, 0.67101435]]],
                            [[[-0.98053589, -1.03143541],
                              [-1.19128892, -1.24695841]],
                             [[0.69108355, 0.66880383],
                              [0.59480972, 0.56776003]],
                             [[2.36270298, 2.36904306],
                              [2.38090835, 2.38247847]]]])
    # The published numbers have 8 decimals, hence "around 1e-8" rather than exact.
    assert rel_error(out, correct_out) < 1e-7


def test_conv_forward_tiny_hand_example():
    # 1 channel, 3x3 input, one 2x2 kernel [[1, 0], [0, -1]] (top-left minus bottom-right),
    # bias 10, stride 1, no padding:
    #   x = [[1, 2, 3],      out[i, j] = x[i, j] - x[i+1, j+1] + 10
    #        [4, 5, 6],        = [[1 - 5, 2 - 6], [4 - 8, 5 - 9]] + 10 = [[6, 6], [6, 6]]
    #        [7, 8, 9]]
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    w = np.array([[1.0, 0.0], [0.0, -1.0]]).reshape(1, 1, 2, 2)
    out, _ = conv_forward_naive(x, w, np.array([10.0]), {'stride': 1, 'pad': 0})
    np.testing.assert_array_equal(out, np.full((1, 1, 2, 2), 6.0))
    # Pad 1, stride 2: the padded input is 5x5 with x in rows/cols 1-3, and the windows
    # start at padded rows/cols 0 and 2 ((5 - 2) // 2 + 1 = 2 per axis). Top-left tap minus
    # bottom-right tap, plus 10:
    #   (0, 0): 0 - x[0, 0] = -1 -> 9        (0, 1): 0 - x[0, 2] = -3 -> 7
    #   (1, 0): 0 - x[2, 0] = -7 -> 3        (1, 1): x[1, 1] - x[2, 2] = 5 - 9 -> 6
    out, _ = conv_forward_naive(x, w, np.array([10.0]), {'stride': 2, 'pad': 1})
    np.testing.assert_array_equal(out, [[[[9.0, 7.0], [3.0, 6.0]]]])


# The worked example: x = 1..16 as one 4x4 channel; two 3x3 filters, no bias, stride 1.
WORKED_X = np.arange(1.0, 17.0).reshape(1, 1, 4, 4)
WORKED_W = np.array([[[[0, 0, 0], [0, 1, 0], [0, -1, 0]]],      # centre minus below
                     [[[0, 0, 0], [0, -1, 1], [0, 0, 0]]]],     # right minus centre
                    dtype=float)
WORKED_DOUT = np.array([[[[-4.0, -4.0], [10.0, 11.0]],
                         [[1.0, -7.0], [1.0, -11.0]]]])


def test_conv_worked_example_forward():
    # Filter 1 at output (i, j): x[i+1, j+1] - x[i+2, j+1] = -4 (rows differ by 4).
    # Filter 2 at output (i, j): x[i+1, j+2] - x[i+1, j+1] = +1 (columns differ by 1).
    out, _ = conv_forward_naive(WORKED_X, WORKED_W, np.zeros(2), {'stride': 1, 'pad': 0})
    np.testing.assert_array_equal(out, [[[[-4, -4], [-4, -4]], [[1, 1], [1, 1]]]])


def test_conv_worked_example_backward_by_hand():
    _, cache = conv_forward_naive(WORKED_X, WORKED_W, np.zeros(2), {'stride': 1, 'pad': 0})
    dx, dw, db = conv_backward_naive(WORKED_DOUT, cache)
    # db[f] = sum of dout[f]:  -4 - 4 + 10 + 11 = 13;  1 - 7 + 1 - 11 = -16.
    np.testing.assert_array_equal(db, [13.0, -16.0])
    # dw[f, 0, p, q] = sum_{i,j} dout[f, i, j] * x[i+p, j+q], with x[r, s] = 4r + s + 1:
    #   = 4 * sum(i * d) + sum(j * d) + sum(d) * (4p + q + 1).
    # Filter 1: sum(d) = 13, sum(i * d) = 10 + 11 = 21, sum(j * d) = -4 + 11 = 7
    #   -> dw = 84 + 7 + 13 (4p + q + 1) = 91 + 13 (4p + q + 1): 104, 117, 130 / 156, ...
    # Filter 2: sum(d) = -16, sum(i * d) = 1 - 11 = -10, sum(j * d) = -7 - 11 = -18
    #   -> dw = -40 - 18 - 16 (4p + q + 1) = -58 - 16 (4p + q + 1): -74, -90, -106 / ...
    np.testing.assert_array_equal(dw, [[[[104, 117, 130], [156, 169, 182], [208, 221, 234]]],
                                       [[[-74, -90, -106], [-138, -154, -170],
                                         [-202, -218, -234]]]])
    # dx: each dout[f, i, j] flows back through the filter's two non-zero taps.
    #   Filter 1: +d1 to x[i+1, j+1], -d1 to x[i+2, j+1].
    #   Filter 2: -d2 to x[i+1, j+1], +d2 to x[i+1, j+2].
    # At x[i+1, j+1]: d1 - d2 = [[-5, 3], [9, 22]]     (rows 1-2, cols 1-2)
    # At x[i+2, j+1]: -d1     = [[4, 4], [-10, -11]]   (rows 2-3, cols 1-2)
    # At x[i+1, j+2]: d2      = [[1, -7], [1, -11]]    (rows 1-2, cols 2-3)
    # Summing: row 1 = [0, -5, 3 + 1, -7];  row 2 = [0, 9 + 4, 22 + 4 + 1, -11];
    #          row 3 = [0, -10, -11, 0];    row 0 and column 0 receive nothing.
    np.testing.assert_array_equal(dx, [[[[0, 0, 0, 0],
                                         [0, -5, 4, -7],
                                         [0, 13, 27, -11],
                                         [0, -10, -11, 0]]]])


# (x shape, w shape, stride, pad): odd sizes, stride 1-3, pad 0-2, non-square kernels,
# per-axis (height, width) stride and pad pairs, strides that leave the last rows unused.
CONV_CASES = [
    ((2, 3, 5, 5), (2, 3, 3, 3), 1, 1),
    ((2, 2, 7, 7), (3, 2, 3, 3), 2, 1),
    ((1, 2, 5, 6), (2, 2, 2, 3), 1, 0),
    ((2, 1, 6, 5), (2, 1, 3, 2), 2, 2),
    ((1, 2, 7, 6), (2, 2, 3, 2), (2, 1), (1, 0)),
    ((1, 1, 6, 7), (1, 1, 2, 3), (1, 3), (0, 2)),
    ((1, 2, 6, 6), (2, 2, 3, 3), 2, 0),           # (6 - 3) / 2: the last row/col is unused
    ((2, 1, 5, 4), (1, 1, 1, 1), 3, 0),           # 1x1 kernel, stride 3
    ((1, 1, 3, 3), (2, 1, 5, 5), 1, 1),           # kernel as large as the padded input
]


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES)
def test_conv_forward_matches_the_definition(x_shape, w_shape, stride, pad):
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    out, _ = conv_forward_naive(x, w, b, {'stride': stride, 'pad': pad})
    np.testing.assert_allclose(out, conv_by_definition(x, w, b, stride, pad),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES)
def test_conv_backward_matches_numeric_gradients(x_shape, w_shape, stride, pad):
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    conv_param = {'stride': stride, 'pad': pad}
    out, cache = conv_forward_naive(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_backward_naive(dout, cache)
    dx_num, dw_num, db_num = numeric_gradients(
        lambda *a: conv_forward_naive(*a, conv_param)[0], [x, w, b], dout)
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == b.shape
    assert rel_error(dx, dx_num) < 1e-7
    assert rel_error(dw, dw_num) < 1e-7
    assert rel_error(db, db_num) < 1e-7


def test_conv_backward_gives_zero_gradient_to_inputs_no_window_covers():
    # 6x6 input, 3x3 kernel, stride 2, no pad: windows start at 0 and 2, so row 5 and
    # column 5 are never read and must get exactly zero gradient.
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 1, 6, 6)), rng.standard_normal((2, 1, 3, 3))
    _, cache = conv_forward_naive(x, w, np.zeros(2), {'stride': 2, 'pad': 0})
    dx, _, _ = conv_backward_naive(rng.standard_normal((2, 2, 2, 2)), cache)
    assert np.all(dx[:, :, 5, :] == 0) and np.all(dx[:, :, :, 5] == 0)
    assert np.all(dx[:, :, :5, :5] != 0)


def test_conv_does_not_modify_its_inputs():
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3)), np.ones(3)
    copies = [x.copy(), w.copy(), b.copy()]
    out, cache = conv_forward_naive(x, w, b, {'stride': 1, 'pad': 1})
    conv_backward_naive(np.ones_like(out), cache)
    for original, copy in zip((x, w, b), copies):
        np.testing.assert_array_equal(original, copy)


# ---------------------------------------------------------------------------------------
# Max pooling
# ---------------------------------------------------------------------------------------

def test_max_pool_forward_published_value():
    # Known value published in CS231n assignment 2, ConvolutionalNetworks.ipynb
    # ("Max-Pooling: Naive forward"), reproduced in many public copies of the notebook.
    x = np.linspace(-0.3, 0.4, num=2 * 3 * 4 * 4).reshape(2, 3, 4, 4)
    out, _ = max_pool_forward_naive(x, {'pool_width': 2, 'pool_height': 2, 'stride': 2})
    correct_out = np.array([[[[-0.26315789, -0.24842105],
                              [-0.20421053, -0.18947368]],
                             [[-0.14526316, -0.13052632],
                              [-0.08631579, -0.07157895]],
                             [[-0.02736842, -0.01263158],
                              [0.03157895, 0.04631579]]],
                            [[[0.09052632, 0.10526316],
                              [0.14947368, 0.16421053]],
                             [[0.20842105, 0.22315789],
                              [0.26736842, 0.28210526]],
                             [[0.32631579, 0.34105263],
                              [0.38526316, 0.4]]]])
    assert rel_error(out, correct_out) < 1e-7


def test_max_pool_hand_example_with_overlapping_windows():
    # 3x3 input whose maximum 9 is in the centre; 2x2 windows with stride 1 all contain it.
    x = np.array([[1.0, 2.0, 3.0], [4.0, 9.0, 5.0], [6.0, 7.0, 8.0]]).reshape(1, 1, 3, 3)
    pool_param = {'pool_height': 2, 'pool_width': 2, 'stride': 1}
    out, cache = max_pool_forward_naive(x, pool_param)
    np.testing.assert_array_equal(out, np.full((1, 1, 2, 2), 9.0))
    # The centre collects the gradient of all four windows: 1 + 2 + 3 + 4 = 10.
    dx = max_pool_backward_naive(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), cache)
    np.testing.assert_array_equal(dx, [[[[0, 0, 0], [0, 10.0, 0], [0, 0, 0]]]])


def test_max_pool_backward_sends_a_tie_to_the_first_maximum():
    # Documented rule: among equal maxima, the first in row-major order gets the gradient.
    x = np.ones((1, 1, 2, 2))
    _, cache = max_pool_forward_naive(x, {'pool_height': 2, 'pool_width': 2, 'stride': 2})
    dx = max_pool_backward_naive(np.array([[[[5.0]]]]), cache)
    np.testing.assert_array_equal(dx, [[[[5.0, 0.0], [0.0, 0.0]]]])


# (x shape, pool_height, pool_width, stride): tiling, overlapping, non-tiling (gaps and
# unused last rows), rectangular windows and per-axis strides.
POOL_CASES = [
    ((2, 3, 4, 4), 2, 2, 2),
    ((2, 2, 5, 5), 3, 3, 1),
    ((1, 2, 7, 7), 3, 3, 2),
    ((2, 1, 7, 8), 2, 2, 3),
    ((1, 2, 5, 7), 2, 3, (1, 2)),
    ((2, 2, 6, 5), 3, 1, 2),
    ((1, 1, 5, 6), 1, 4, (2, 1)),
]


@pytest.mark.parametrize("x_shape, pool_h, pool_w, stride", POOL_CASES)
def test_max_pool_forward_matches_the_definition(x_shape, pool_h, pool_w, stride):
    x = np.random.default_rng(5).standard_normal(x_shape)
    out, _ = max_pool_forward_naive(
        x, {'pool_height': pool_h, 'pool_width': pool_w, 'stride': stride})
    np.testing.assert_array_equal(out, pool_by_definition(x, pool_h, pool_w, stride, np.max))


@pytest.mark.parametrize("x_shape, pool_h, pool_w, stride", POOL_CASES)
def test_max_pool_backward_matches_numeric_gradient(x_shape, pool_h, pool_w, stride):
    rng = np.random.default_rng(6)
    x = distinct_values(rng, x_shape)
    pool_param = {'pool_height': pool_h, 'pool_width': pool_w, 'stride': stride}
    out, cache = max_pool_forward_naive(x, pool_param)
    dout = rng.standard_normal(out.shape)
    dx = max_pool_backward_naive(dout, cache)
    dx_num = eval_numerical_gradient_array(
        lambda v: max_pool_forward_naive(v, pool_param)[0], x, dout)
    assert dx.shape == x.shape
    assert rel_error(dx, dx_num) < 1e-8


# ---------------------------------------------------------------------------------------
# Average pooling
# ---------------------------------------------------------------------------------------

def test_avg_pool_hand_example():
    # x = 0..15 as a 4x4 channel; 2x2 windows, stride 2: the top-left block 0, 1, 4, 5
    # averages to 2.5, and each block to the right (left) adds 2 (8).
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    out, cache = avg_pool_forward_naive(x, {'pool_height': 2, 'pool_width': 2, 'stride': 2})
    np.testing.assert_array_equal(out, [[[[2.5, 4.5], [10.5, 12.5]]]])
    # Each input of a block receives a quarter of that block's gradient.
    dx = avg_pool_backward_naive(np.array([[[[4.0, 8.0], [12.0, 16.0]]]]), cache)
    np.testing.assert_array_equal(dx, [[[[1, 1, 2, 2], [1, 1, 2, 2],
                                         [3, 3, 4, 4], [3, 3, 4, 4]]]])


def test_avg_pool_backward_overlapping_windows_hand_example():
    # 3x3 input, 2x2 windows, stride 1: the centre is in all 4 windows, edges in 2,
    # corners in 1; each window passes on a quarter of its gradient (1 here).
    _, cache = avg_pool_forward_naive(np.zeros((1, 1, 3, 3)),
                                      {'pool_height': 2, 'pool_width': 2, 'stride': 1})
    dx = avg_pool_backward_naive(np.ones((1, 1, 2, 2)), cache)
    np.testing.assert_array_equal(dx, [[[[0.25, 0.5, 0.25], [0.5, 1.0, 0.5],
                                         [0.25, 0.5, 0.25]]]])


@pytest.mark.parametrize("x_shape, pool_h, pool_w, stride", POOL_CASES)
def test_avg_pool_forward_matches_the_definition(x_shape, pool_h, pool_w, stride):
    x = np.random.default_rng(7).standard_normal(x_shape)
    out, _ = avg_pool_forward_naive(
        x, {'pool_height': pool_h, 'pool_width': pool_w, 'stride': stride})
    np.testing.assert_allclose(out, pool_by_definition(x, pool_h, pool_w, stride, np.mean),
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("x_shape, pool_h, pool_w, stride", POOL_CASES)
def test_avg_pool_backward_matches_numeric_gradient(x_shape, pool_h, pool_w, stride):
    rng = np.random.default_rng(8)
    x = rng.standard_normal(x_shape)
    pool_param = {'pool_height': pool_h, 'pool_width': pool_w, 'stride': stride}
    out, cache = avg_pool_forward_naive(x, pool_param)
    dout = rng.standard_normal(out.shape)
    dx = avg_pool_backward_naive(dout, cache)
    dx_num = eval_numerical_gradient_array(
        lambda v: avg_pool_forward_naive(v, pool_param)[0], x, dout)
    assert dx.shape == x.shape
    assert rel_error(dx, dx_num) < 1e-8


# ---------------------------------------------------------------------------------------
# Spatial batch normalization
# ---------------------------------------------------------------------------------------

def test_spatial_batchnorm_train_output_statistics():
    rng = np.random.default_rng(9)
    x = 4 * rng.standard_normal((4, 3, 5, 6)) + 10
    out, _ = spatial_batchnorm_forward(x, np.ones(3), np.zeros(3), {'mode': 'train'})
    assert out.shape == x.shape
    # Per channel, over N, H and W: mean 0 and std 1 (up to the eps in the variance).
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0.0, atol=1e-10)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1.0, atol=1e-5)
    gamma, beta = np.array([3.0, 4.0, 5.0]), np.array([6.0, 7.0, 8.0])
    out, _ = spatial_batchnorm_forward(x, gamma, beta, {'mode': 'train'})
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), beta, atol=1e-10)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), gamma, rtol=1e-5)


def test_spatial_batchnorm_running_averages_follow_the_momentum_formula():
    rng = np.random.default_rng(10)
    channels = 3
    gamma, beta = np.ones(channels), np.zeros(channels)

    # One step from the defaults (mean 0, var 1) with the default momentum 0.9.
    x = 2 * rng.standard_normal((3, channels, 4, 5)) + 5
    bn_param = {'mode': 'train'}
    spatial_batchnorm_forward(x, gamma, beta, bn_param)
    np.testing.assert_allclose(bn_param['running_mean'], 0.1 * x.mean(axis=(0, 2, 3)),
                               rtol=1e-12)
    np.testing.assert_allclose(bn_param['running_var'], 0.9 + 0.1 * x.var(axis=(0, 2, 3)),
                               rtol=1e-12)

    # Several steps with an explicit momentum and starting point.
    momentum = 0.7
    expected_mean, expected_var = np.array([1.0, -1.0, 0.5]), np.array([2.0, 0.5, 1.0])
    bn_param = {'mode': 'train', 'momentum': momentum,
                'running_mean': expected_mean.copy(), 'running_var': expected_var.copy()}
    for step in range(4):
        x = (step + 1) * rng.standard_normal((2, channels, 3, 3)) + step
        spatial_batchnorm_forward(x, gamma, beta, bn_param)
        expected_mean = momentum * expected_mean + (1 - momentum) * x.mean(axis=(0, 2, 3))
        expected_var = momentum * expected_var + (1 - momentum) * x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(bn_param['running_mean'], expected_mean, rtol=1e-12)
    np.testing.assert_allclose(bn_param['running_var'], expected_var, rtol=1e-12)


def test_spatial_batchnorm_default_eps_is_1e_minus_5():
    # A channel with variance exactly v: the output std is sqrt(v / (v + eps)), which for
    # v = eps = 1e-5 is sqrt(1/2). An explicit eps = 1e-3 gives sqrt(1e-5 / 1.01e-3).
    v = 1e-5
    x = np.sqrt(v) * np.array([1.0, -1.0, 1.0, -1.0]).reshape(1, 1, 2, 2)
    out, _ = spatial_batchnorm_forward(x, np.ones(1), np.zeros(1), {'mode': 'train'})
    assert out.std() == pytest.approx(np.sqrt(0.5), rel=1e-9)
    out, _ = spatial_batchnorm_forward(x, np.ones(1), np.zeros(1),
                                       {'mode': 'train', 'eps': 1e-3})
    assert out.std() == pytest.approx(np.sqrt(v / (v + 1e-3)), rel=1e-9)


def test_spatial_batchnorm_test_mode_uses_running_stats_and_ignores_the_batch():
    rng = np.random.default_rng(11)
    running_mean, running_var = np.array([1.0, -2.0]), np.array([4.0, 0.25])
    gamma, beta = np.array([2.0, 0.5]), np.array([-1.0, 3.0])
    bn_param = {'mode': 'test', 'running_mean': running_mean.copy(),
                'running_var': running_var.copy()}
    x = rng.standard_normal((5, 2, 3, 4)) * 3 + 7
    out, _ = spatial_batchnorm_forward(x, gamma, beta, bn_param)
    scale = (gamma / np.sqrt(running_var + 1e-5)).reshape(1, 2, 1, 1)
    expected = (x - running_mean.reshape(1, 2, 1, 1)) * scale + beta.reshape(1, 2, 1, 1)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    # Example 0 alone gives the same output as example 0 inside the batch.
    out_alone, _ = spatial_batchnorm_forward(x[:1], gamma, beta, bn_param)
    np.testing.assert_allclose(out_alone[0], out[0], rtol=1e-14)
    # Test mode leaves the running averages alone.
    np.testing.assert_array_equal(bn_param['running_mean'], running_mean)
    np.testing.assert_array_equal(bn_param['running_var'], running_var)


def test_spatial_batchnorm_test_mode_after_training_normalizes_new_data():
    rng = np.random.default_rng(12)
    bn_param = {'mode': 'train'}
    gamma, beta = np.ones(4), np.zeros(4)
    for _ in range(50):
        spatial_batchnorm_forward(2.3 * rng.standard_normal((10, 4, 6, 6)) + 13,
                                  gamma, beta, bn_param)
    bn_param['mode'] = 'test'
    out, _ = spatial_batchnorm_forward(2.3 * rng.standard_normal((10, 4, 6, 6)) + 13,
                                       gamma, beta, bn_param)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0.0, atol=0.1)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1.0, atol=0.1)


def test_spatial_batchnorm_equals_batchnorm_on_channel_columns():
    rng = np.random.default_rng(13)
    x = rng.standard_normal((3, 4, 2, 5))
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    dout = rng.standard_normal(x.shape)
    out, cache = spatial_batchnorm_forward(x, gamma, beta, {'mode': 'train'})
    dx, dgamma, dbeta = spatial_batchnorm_backward(dout, cache)

    def to_columns(a):      # (N, C, H, W) -> (N*H*W, C)
        return a.transpose(0, 2, 3, 1).reshape(-1, a.shape[1])

    def from_columns(a):    # (N*H*W, C) -> (N, C, H, W)
        return a.reshape(3, 2, 5, 4).transpose(0, 3, 1, 2)

    out_cols, cache_cols = batchnorm_forward(to_columns(x), gamma, beta, {'mode': 'train'})
    dx_cols, dgamma_cols, dbeta_cols = batchnorm_backward(to_columns(dout), cache_cols)
    np.testing.assert_allclose(out, from_columns(out_cols), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dx, from_columns(dx_cols), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dgamma, dgamma_cols, rtol=1e-12)
    np.testing.assert_allclose(dbeta, dbeta_cols, rtol=1e-12)


def test_spatial_batchnorm_backward_matches_numeric_gradients():
    rng = np.random.default_rng(14)
    x = 5 * rng.standard_normal((2, 3, 4, 5)) + 12
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    dout = rng.standard_normal(x.shape)
    _, cache = spatial_batchnorm_forward(x, gamma, beta, {'mode': 'train'})
    dx, dgamma, dbeta = spatial_batchnorm_backward(dout, cache)
    forward = lambda *a: spatial_batchnorm_forward(*a, {'mode': 'train'})[0]
    dx_num, dgamma_num, dbeta_num = numeric_gradients(forward, [x, gamma, beta], dout)
    assert dx.shape == x.shape and dgamma.shape == (3,) and dbeta.shape == (3,)
    assert rel_error(dx, dx_num) < 1e-6
    assert rel_error(dgamma, dgamma_num) < 1e-7
    assert rel_error(dbeta, dbeta_num) < 1e-7


def test_spatial_batchnorm_backward_refuses_a_test_mode_cache():
    _, cache = spatial_batchnorm_forward(np.zeros((1, 2, 2, 2)), np.ones(2), np.zeros(2),
                                         {'mode': 'test'})
    with pytest.raises(ValueError, match="'train' mode"):
        spatial_batchnorm_backward(np.zeros((1, 2, 2, 2)), cache)


# ---------------------------------------------------------------------------------------
# Bad input: ValueError naming the offending value
# ---------------------------------------------------------------------------------------

def _conv(x_shape=(1, 2, 5, 5), w_shape=(3, 2, 3, 3), b_shape=(3,), **conv_param):
    return conv_forward_naive(np.zeros(x_shape), np.zeros(w_shape), np.zeros(b_shape),
                              conv_param)


def _max_pool(x_shape=(1, 1, 4, 4), **pool_param):
    return max_pool_forward_naive(np.zeros(x_shape), pool_param)


def _avg_pool(x_shape=(1, 1, 4, 4), **pool_param):
    return avg_pool_forward_naive(np.zeros(x_shape), pool_param)


@pytest.mark.parametrize("stride, shown_as", [
    (0, "0"), (-1, "-1"), (1.5, "1.5"), (0.0, "0.0"), (True, "True"), ("2", "'2'"),
    (None, "None"), ((1, 0), r"\(1, 0\)"), ((1, 2, 3), r"\(1, 2, 3\)"),
    (np.array(2), r"array\(2\)"),
])
def test_bad_stride_raises_naming_the_value(stride, shown_as):
    message = rf"stride must be .*got {shown_as}$"
    with pytest.raises(ValueError, match=message):
        _conv(stride=stride, pad=1)
    with pytest.raises(ValueError, match=message):
        _max_pool(pool_height=2, pool_width=2, stride=stride)
    with pytest.raises(ValueError, match=message):
        _avg_pool(pool_height=2, pool_width=2, stride=stride)
    with pytest.raises(ValueError, match=message):
        conv_output_size(5, 3, stride=stride)


@pytest.mark.parametrize("pad, shown_as", [
    (-1, "-1"), (0.5, "0.5"), ((1, -2), r"\(1, -2\)"), (False, "False"),
])
def test_bad_pad_raises_naming_the_value(pad, shown_as):
    with pytest.raises(ValueError, match=rf"pad must be .*got {shown_as}$"):
        _conv(stride=1, pad=pad)
    with pytest.raises(ValueError, match=rf"pad must be .*got {shown_as}$"):
        conv_output_size(5, 3, pad=pad)


def test_a_configuration_without_output_raises():
    # A 5x5 kernel does not fit a 3x3 input without padding; with pad 1 it just fits.
    with pytest.raises(ValueError, match=r"window height 5 .* input height 3 \+ 2\*0 = 3"):
        _conv(x_shape=(1, 1, 3, 3), w_shape=(1, 1, 5, 5), b_shape=(1,), stride=1, pad=0)
    out, _ = _conv(x_shape=(1, 1, 3, 3), w_shape=(1, 1, 5, 5), b_shape=(1,), stride=1, pad=1)
    assert out.shape == (1, 1, 1, 1)
    with pytest.raises(ValueError, match=r"window width 4 .* input width 3"):
        _conv(x_shape=(1, 1, 6, 3), w_shape=(1, 1, 2, 4), b_shape=(1,), stride=1, pad=(1, 0))
    with pytest.raises(ValueError, match=r"window height 5 .* input height 4"):
        _max_pool(pool_height=5, pool_width=2, stride=1)
    with pytest.raises(ValueError, match=r"window width 6 .* input width 4"):
        _avg_pool(pool_height=1, pool_width=6, stride=1)
    with pytest.raises(ValueError, match=r"window width 9 .* input width 4 \+ 2\*2 = 8"):
        conv_output_size((10, 4), (3, 9), pad=2)


def test_bad_pool_window_raises_naming_the_value():
    with pytest.raises(ValueError, match=r"\(pool_height, pool_width\) must be >= 1, "
                                         r"got \(0, 2\)"):
        _max_pool(pool_height=0, pool_width=2, stride=1)
    with pytest.raises(ValueError, match=r"pool_width\) must be .*got \(2, 1.5\)"):
        _avg_pool(pool_height=2, pool_width=1.5, stride=1)
    # A pair is not a valid pool_height (pool_height and pool_width are separate keys).
    with pytest.raises(ValueError, match=r"got \(\(2, 3\), 2\)"):
        _max_pool(pool_height=(2, 3), pool_width=2, stride=1)


def test_bad_kernel_or_input_size_raises_naming_the_value():
    with pytest.raises(ValueError, match=r"kernel_size must be >= 1, got 0"):
        conv_output_size(5, 0)
    with pytest.raises(ValueError, match=r"input_size must be >= 1, got \(0, 5\)"):
        conv_output_size((0, 5), 1)
    with pytest.raises(ValueError, match=r"kernel_size must be .*got 2.5"):
        conv_param_count(3, 4, 2.5)


def test_mismatched_channels_raise():
    with pytest.raises(ValueError, match=r"x has 3 channels but w expects 2"):
        _conv(x_shape=(1, 3, 5, 5), w_shape=(4, 2, 3, 3), b_shape=(4,), stride=1, pad=0)


@pytest.mark.parametrize("b_shape, shown_as", [
    ((2,), r"\(2,\)"), ((3, 1), r"\(3, 1\)"), ((), r"\(\)"),
])
def test_wrong_bias_shape_raises(b_shape, shown_as):
    with pytest.raises(ValueError, match=rf"b must have shape \(3,\), got {shown_as}"):
        _conv(b_shape=b_shape, stride=1, pad=0)


def test_wrong_number_of_dimensions_raises():
    with pytest.raises(ValueError, match=r"got x \(2, 5, 5\) and w \(3, 2, 3, 3\)"):
        _conv(x_shape=(2, 5, 5), stride=1, pad=0)
    with pytest.raises(ValueError, match=r"got x \(1, 2, 5, 5\) and w \(3, 2, 3\)"):
        _conv(w_shape=(3, 2, 3), stride=1, pad=0)
    with pytest.raises(ValueError, match=r"x must be \(N, C, H, W\), got shape \(4, 4\)"):
        _max_pool(x_shape=(4, 4), pool_height=2, pool_width=2, stride=2)
    with pytest.raises(ValueError, match=r"x must be \(N, C, H, W\), got shape \(1, 4, 4\)"):
        _avg_pool(x_shape=(1, 4, 4), pool_height=2, pool_width=2, stride=2)
    with pytest.raises(ValueError, match=r"x must be \(N, C, H, W\), got shape \(6, 3\)"):
        spatial_batchnorm_forward(np.zeros((6, 3)), np.ones(3), np.zeros(3), {'mode': 'train'})


@pytest.mark.parametrize("gamma_shape, beta_shape, shown_as", [
    ((4,), (3,), r"got \(4,\) and \(3,\)"),
    ((3,), (1, 3), r"got \(3,\) and \(1, 3\)"),
    ((), (3,), r"got \(\) and \(3,\)"),
])
def test_wrong_gamma_or_beta_shape_raises(gamma_shape, beta_shape, shown_as):
    with pytest.raises(ValueError, match=rf"must have shape \(3,\), {shown_as}"):
        spatial_batchnorm_forward(np.zeros((2, 3, 2, 2)), np.ones(gamma_shape),
                                  np.zeros(beta_shape), {'mode': 'train'})


def test_bad_batchnorm_mode_raises():
    with pytest.raises(ValueError, match=r"'train' or 'test', got None"):
        spatial_batchnorm_forward(np.zeros((2, 3, 2, 2)), np.ones(3), np.zeros(3), {})


# ---------------------------------------------------------------------------------------
# dtype: float32 stays float32
# ---------------------------------------------------------------------------------------

def test_float32_stays_float32_through_conv_pool_and_spatial_batchnorm():
    rng = np.random.default_rng(15)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    out, cache = conv_forward_naive(x, w, b, {'stride': 1, 'pad': 1})
    assert out.dtype == np.float32
    grads = conv_backward_naive(np.ones_like(out), cache)
    assert [g.dtype for g in grads] == [np.float32] * 3

    pool_param = {'pool_height': 2, 'pool_width': 3, 'stride': (2, 1)}
    for forward, backward in ((max_pool_forward_naive, max_pool_backward_naive),
                              (avg_pool_forward_naive, avg_pool_backward_naive)):
        out, cache = forward(x, pool_param)
        assert out.dtype == np.float32, forward.__name__
        assert backward(np.ones_like(out), cache).dtype == np.float32, backward.__name__

    gamma, beta = np.ones(3, dtype=np.float32), np.zeros(3, dtype=np.float32)
    out, cache = spatial_batchnorm_forward(x, gamma, beta, {'mode': 'train'})
    assert out.dtype == np.float32
    assert [g.dtype for g in spatial_batchnorm_backward(np.ones_like(out), cache)] == \
        [np.float32] * 3


def test_float32_conv_agrees_with_float64():
    rng = np.random.default_rng(16)
    x, w, b = rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((2, 3, 3, 3)), np.ones(2)
    conv_param = {'stride': 2, 'pad': 1}
    out64, _ = conv_forward_naive(x, w, b, conv_param)
    out32, _ = conv_forward_naive(x.astype(np.float32), w.astype(np.float32),
                                  b.astype(np.float32), conv_param)
    np.testing.assert_allclose(out32, out64, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------------
# Optional oracle: PyTorch (skipped when torch is not installed)
# ---------------------------------------------------------------------------------------

def _torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


def _leaf(torch, array):
    return torch.tensor(array, dtype=torch.float64, requires_grad=True)


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES)
def test_conv_agrees_with_torch(x_shape, w_shape, stride, pad):
    torch = _torch()
    rng = np.random.default_rng(17)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    out, cache = conv_forward_naive(x, w, b, {'stride': stride, 'pad': pad})
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_backward_naive(dout, cache)

    tx, tw, tb = _leaf(torch, x), _leaf(torch, w), _leaf(torch, b)
    t_out = torch.nn.functional.conv2d(tx, tw, tb, stride=as_pair(stride, 'stride', 1),
                                       padding=as_pair(pad, 'pad', 0))
    (t_out * torch.from_numpy(dout)).sum().backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dw, tw.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(db, tb.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("x_shape, pool_h, pool_w, stride", POOL_CASES)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_agrees_with_torch(kind, x_shape, pool_h, pool_w, stride):
    torch = _torch()
    rng = np.random.default_rng(18)
    x = distinct_values(rng, x_shape)
    pool_param = {'pool_height': pool_h, 'pool_width': pool_w, 'stride': stride}
    forward, backward, torch_pool = {
        'max': (max_pool_forward_naive, max_pool_backward_naive,
                torch.nn.functional.max_pool2d),
        'avg': (avg_pool_forward_naive, avg_pool_backward_naive,
                torch.nn.functional.avg_pool2d),
    }[kind]
    out, cache = forward(x, pool_param)
    dout = rng.standard_normal(out.shape)
    dx = backward(dout, cache)

    tx = _leaf(torch, x)
    t_out = torch_pool(tx, kernel_size=(pool_h, pool_w), stride=as_pair(stride, 'stride', 1))
    (t_out * torch.from_numpy(dout)).sum().backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_spatial_batchnorm_agrees_with_torch():
    torch = _torch()
    rng = np.random.default_rng(19)
    x = 3 * rng.standard_normal((4, 3, 5, 6)) + 2
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    dout = rng.standard_normal(x.shape)
    bn_param = {'mode': 'train'}
    out, cache = spatial_batchnorm_forward(x, gamma, beta, bn_param)
    dx, dgamma, dbeta = spatial_batchnorm_backward(dout, cache)

    tx, tgamma, tbeta = _leaf(torch, x), _leaf(torch, gamma), _leaf(torch, beta)
    t_mean, t_var = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    # torch's momentum weighs the new batch: our momentum 0.9 is torch's 0.1.
    t_out = torch.nn.functional.batch_norm(tx, t_mean, t_var, tgamma, tbeta, training=True,
                                           momentum=0.1, eps=1e-5)
    (t_out * torch.from_numpy(dout)).sum().backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dgamma, tgamma.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(dbeta, tbeta.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(bn_param['running_mean'], t_mean.numpy(), rtol=1e-12)
    # torch keeps the unbiased variance (divided by m - 1) in its running average; ours,
    # like CS231n's, keeps the biased one (divided by m), the one used to normalize.
    m = x.size // 3
    torch_biased = 0.9 + (t_var.numpy() - 0.9) * (m - 1) / m
    np.testing.assert_allclose(bn_param['running_var'], torch_biased, rtol=1e-12)

    # Test mode with the same running statistics.
    bn_param['mode'] = 'test'
    out_test, _ = spatial_batchnorm_forward(x, gamma, beta, bn_param)
    t_out_test = torch.nn.functional.batch_norm(
        torch.from_numpy(x), torch.from_numpy(bn_param['running_mean']),
        torch.from_numpy(bn_param['running_var']), torch.from_numpy(gamma),
        torch.from_numpy(beta), training=False, eps=1e-5)
    np.testing.assert_allclose(out_test, t_out_test.numpy(), rtol=1e-10, atol=1e-12)
