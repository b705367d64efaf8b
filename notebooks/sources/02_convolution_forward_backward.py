# Source of notebooks/02_convolution_forward_backward.ipynb (build: python notebooks/build_notebooks.py)

# %% [markdown]
# # 2. Convolution: forward and backward
#
# A convolutional layer is a sum of products, so its gradients are sums of products too.
# The question is only *which* products. We answer it first in one dimension, where every
# index can be written out, then carry the result to two dimensions and check it on a
# 4x4 example small enough to do by hand.
#
# The three results:
#
# * `db` is the sum of the upstream gradients of the filter's outputs;
# * `dw` is a correlation of the input with the upstream gradient;
# * `dx` is a *full* convolution of the upstream gradient with the filter, which is the
#   same as a correlation with the filter rotated by 180 degrees.
#
# (What deep-learning libraries call "convolution" is, strictly speaking, a
# cross-correlation: the filter is not flipped. We follow that usage and say "full
# convolution" only where the flip really happens.)

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

from nndl.conv_layers import conv_backward_naive, conv_forward_naive
from utils.gradient_check import eval_numerical_gradient_array, rel_error

np.set_printoptions(linewidth=100, suppress=True)

# %% [markdown]
# ## 1. One dimension
#
# Input `x` of length `W`, filter `w` of length `K`, bias `b`, stride 1, no padding.
# Output `i` is the filter laid over `x` starting at position `i`:
#
# $$y_i = \sum_{k=0}^{K-1} x_{i+k}\, w_k + b, \qquad i = 0, \dots, W-K .$$
#
# This is exactly NumPy's `np.correlate(x, w, mode="valid")`.

# %%
x1 = np.array([1.0, 3.0, -2.0, 4.0, 0.0, 5.0])
w1 = np.array([2.0, -1.0, 1.0])
b1 = 0.5

y1 = np.array([sum(x1[i + k] * w1[k] for k in range(len(w1))) for i in range(len(x1) - 2)]) + b1
print("y =", y1)
assert np.allclose(y1, np.correlate(x1, w1, mode="valid") + b1)

# %% [markdown]
# Let `L` be the loss and `dy_i = dL/dy_i` the upstream gradient. The chain rule sums over
# every output that a parameter touched:
#
# * `b` is added to every output with coefficient 1: $\; db = \sum_i dy_i$.
# * `w_k` multiplies `x_{i+k}` in output `i`:
#   $\; dw_k = \sum_i dy_i\, x_{i+k}$ — the same sliding sum as the forward pass, with
#   `dy` in the role of the filter: `np.correlate(x, dy, "valid")`.
# * `x_j` appears in output `i` when `j = i + k`, with weight `w_{j-i}`:
#   $\; dx_j = \sum_i dy_i\, w_{j-i}$ (terms with `j - i` outside `0..K-1` are zero).
#   This is a true convolution of `dy` with `w`, in its *full* form: it runs over every
#   overlap of the two, so the result has length `(W-K+1) + K - 1 = W`:
#   `np.convolve(dy, w, "full")`.

# %%
dy1 = np.array([1.0, -2.0, 0.5, 3.0])

db1 = dy1.sum()
dw1 = np.correlate(x1, dy1, mode="valid")
dx1 = np.convolve(dy1, w1, mode="full")
print("db =", db1, " dw =", dw1, " dx =", dx1)

# The same numbers from centered differences of sum(y * dy):
def forward_1d(x_, w_, b_):
    return np.correlate(x_, w_, mode="valid") + b_


dx1_num = eval_numerical_gradient_array(lambda v: forward_1d(v, w1, b1), x1, dy1)
dw1_num = eval_numerical_gradient_array(lambda v: forward_1d(x1, v, b1), w1, dy1)
db1_num = eval_numerical_gradient_array(lambda v: forward_1d(x1, w1, v), np.array([b1]), dy1)
assert rel_error(dx1, dx1_num) < 1e-9 and rel_error(dw1, dw1_num) < 1e-9
assert rel_error([db1], db1_num) < 1e-9

# %% [markdown]
# A convolution flips one of its arguments; a correlation does not. So the full
# convolution for `dx` can also be written as a correlation of `dy`, padded with `K-1`
# zeros on both sides, with the *reversed* filter. In 2D, reversing both axes is a
# rotation by 180 degrees.

# %%
dx1_as_correlation = np.correlate(np.pad(dy1, len(w1) - 1), w1[::-1], mode="valid")
print(dx1_as_correlation)
assert np.allclose(dx1, dx1_as_correlation)

# %% [markdown]
# The layer of the course works on `(N, C, H, W)` arrays. A 1D signal is an image with a
# single row, so the layer must give the same three gradients:

# %%
out, cache = conv_forward_naive(x1.reshape(1, 1, 1, -1), w1.reshape(1, 1, 1, -1),
                                np.array([b1]), {"stride": 1, "pad": 0})
dx, dw, db = conv_backward_naive(dy1.reshape(1, 1, 1, -1), cache)
assert np.allclose(out.ravel(), y1)
assert np.allclose(dx.ravel(), dx1) and np.allclose(dw.ravel(), dw1) and np.allclose(db, db1)
print("conv_backward_naive agrees with the 1D formulas")

# %% [markdown]
# ### A Conv1d worked example: channels and filters in one dimension
#
# A 1-D convolutional layer (PyTorch's `nn.Conv1d`, used on audio, sensor data or text)
# takes `C` channels of length `L` and `F` filters of shape `(C, K)`. Every output sums
# over the channels: `y[f, i] = b[f] + sum_c sum_k w[f, c, k] x_pad[c, i + k]`. Two channels
# of length 5, two filters of length 3, padding 1 (so the output has length 5 too):
#
# ```
# x[0] = [1, 2, 0, -1, 3]     w[0, 0] = [1, 0, -1]   w[0, 1] = [2, 1, 0]   b[0] =  0.5
# x[1] = [0, 1, 1,  2, -2]    w[1, 0] = [0, 1,  0]   w[1, 1] = [-1, 0, 1]  b[1] = -1
# ```
#
# By hand, the first output of filter 0 sees `x_pad[0, 0:3] = [0, 1, 2]` and
# `x_pad[1, 0:3] = [0, 0, 1]`: `(0*1 + 1*0 + 2*(-1)) + (0*2 + 0*1 + 1*0) + 0.5 = -1.5`.
# Filter 1 is the identity on channel 0 (`[0, 1, 0]`) plus a difference on channel 1,
# so its first output is `1 + (0*(-1) + 0*0 + 1*1) - 1 = 1`.

# %%
x_c = np.array([[1, 2, 0, -1, 3], [0, 1, 1, 2, -2]], dtype=float)    # (C, L)
w_c = np.array([[[1, 0, -1], [2, 1, 0]], [[0, 1, 0], [-1, 0, 1]]], dtype=float)  # (F, C, K)
b_c = np.array([0.5, -1.0])
x_c_pad = np.pad(x_c, ((0, 0), (1, 1)))
y_c = np.array([sum(np.correlate(x_c_pad[c], w_c[f, c], mode="valid") for c in range(2))
                + b_c[f] for f in range(2)])
print("y =\n", y_c)
assert y_c[0, 0] == -1.5 and y_c[1, 0] == 1.0

# The course's layer on a (1, C, 1, L) "image", padding only the width:
out_c, cache_c = conv_forward_naive(x_c[None, :, None, :], w_c[:, :, None, :], b_c,
                                    {"stride": 1, "pad": (0, 1)})
assert np.allclose(out_c[0, :, 0], y_c)

# %% [markdown]
# The backward pass is the one-channel result applied to every (filter, channel) pair:
# `db[f]` sums `dy[f]`, `dw[f, c]` correlates the padded channel `c` with `dy[f]`, and
# `dx[c]` sums over the filters the full convolutions of `dy[f]` with `w[f, c]`, cropped
# by the padding.

# %%
dy_c = np.array([[1, 0, -1, 2, 1], [0, 3, 1, 0, -2]], dtype=float)   # (F, L_out)
db_c = dy_c.sum(axis=1)
dw_c = np.array([[np.correlate(x_c_pad[c], dy_c[f], mode="valid") for c in range(2)]
                 for f in range(2)])
dx_c = np.array([sum(np.convolve(dy_c[f], w_c[f, c], mode="full") for f in range(2))
                 for c in range(2)])[:, 1:-1]
print("db =", db_c)
print("dw =\n", dw_c)
print("dx =\n", dx_c)
dx_l, dw_l, db_l = conv_backward_naive(dy_c[None, :, None, :], cache_c)
assert np.allclose(dx_l[0, :, 0], dx_c) and np.allclose(dw_l[:, :, 0], dw_c)
assert np.allclose(db_l, db_c)
print("conv_backward_naive agrees with the Conv1d formulas")

# %% [markdown]
# ## 2. Two dimensions: the worked example
#
# In 2D every index becomes a pair, and for several channels and filters the sums also
# run over the channel axis; nothing else changes:
#
# $$y_{f,i,j} = \sum_{c}\sum_{k,l} x_{c,\,i+k,\,j+l}\; w_{f,c,k,l} + b_f .$$
#
# The example: one 4x4 input channel holding 1..16, two 3x3 filters, no bias, stride 1,
# no padding. Each filter has only two non-zero taps, so each output is a difference of
# two pixels:
#
# * filter 0 has `+1` at the centre and `-1` below it: *pixel minus the pixel below*.
#   Rows of `x` differ by 4, so every output is `-4`;
# * filter 1 has `-1` at the centre and `+1` to its right: *right neighbour minus pixel*,
#   which is `+1` everywhere.

# %%
x = np.arange(1, 17, dtype=float).reshape(1, 1, 4, 4)
w = np.array([[[[0, 0, 0], [0, 1, 0], [0, -1, 0]]],
              [[[0, 0, 0], [0, -1, 1], [0, 0, 0]]]], dtype=float)   # shape (F=2, C=1, 3, 3)
b = np.zeros(2)
conv_param = {"stride": 1, "pad": 0}

out, cache = conv_forward_naive(x, w, b, conv_param)
print("x:\n", x[0, 0])
print("output of filter 0:\n", out[0, 0])
print("output of filter 1:\n", out[0, 1])
assert np.array_equal(out[0, 0], [[-4, -4], [-4, -4]])
assert np.array_equal(out[0, 1], [[1, 1], [1, 1]])

# %% [markdown]
# The four positions of filter 0 as it slides over the input: each output is the sum of
# the highlighted window times the filter, here the blue pixel minus the orange one.

# %%
def draw_slide(x2d, filt, out2d, title):
    """One panel per output position: the input, the window, and the filter's taps."""
    kernel = filt.shape[0]
    out_h, out_w = out2d.shape
    fig, axes = plt.subplots(1, out_h * out_w, figsize=(3 * out_h * out_w, 3.2))
    for ax, (i, j) in zip(axes, np.ndindex(out_h, out_w)):
        ax.imshow(np.zeros_like(x2d), cmap="Greys", vmin=0, vmax=1)
        for (r, c), value in np.ndenumerate(x2d):
            tap = filt[r - i, c - j] if 0 <= r - i < kernel and 0 <= c - j < kernel else 0
            if tap:
                ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1,
                                           color="tab:blue" if tap > 0 else "tab:orange"))
            ax.text(c, r, f"{value:g}", ha="center", va="center")
        ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), kernel, kernel, fill=False,
                                   edgecolor="red", linewidth=3))
        ax.set_title(f"out[{i},{j}] = {out2d[i, j]:g}")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title)
    plt.tight_layout(rect=(0, 0, 1, 0.93))
    plt.show()


draw_slide(x[0, 0], w[0, 0], out[0, 0], "filter 0: pixel (blue) minus the pixel below (orange)")

# %% [markdown]
# ### The upstream gradient
#
# Suppose the loss sends back these gradients for the two 2x2 outputs:

# %%
dout = np.array([[[[-4, -4], [10, 11]],
                  [[1, -7], [1, -11]]]], dtype=float)   # shape (N=1, F=2, 2, 2)
print("dout, filter 0:\n", dout[0, 0])
print("dout, filter 1:\n", dout[0, 1])

# %% [markdown]
# ### `db`: the sum of the upstream gradients
#
# `b_f` is added once to every output of filter `f`, so it collects every one of their
# gradients: `db_0 = -4 - 4 + 10 + 11 = 13` and `db_1 = 1 - 7 + 1 - 11 = -16`.

# %%
db_by_hand = np.array([-4 - 4 + 10 + 11, 1 - 7 + 1 - 11], dtype=float)
print("db =", db_by_hand)

# %% [markdown]
# ### `dw`: correlating the input with the upstream gradient
#
# Weight `w[f, 0, k, l]` multiplied pixel `x[i+k, j+l]` in output `(i, j)`. So `dw[f]` is
# the sum, over the four outputs, of *that output's gradient times that output's
# window*. Written out for filter 0, with the four 3x3 windows of `x`:

# %%
def windows_of(x2d, kernel):
    """Every kernel x kernel window of a 2D array, keyed by its top-left corner (i, j)."""
    size_h, size_w = x2d.shape
    return {(i, j): x2d[i:i + kernel, j:j + kernel]
            for i in range(size_h - kernel + 1) for j in range(size_w - kernel + 1)}


def dw_by_steps(x2d, dout2d, kernel, verbose=True):
    """dw of one filter as an explicit sum of (upstream gradient) * (window) terms."""
    total = np.zeros((kernel, kernel))
    for (i, j), window in windows_of(x2d, kernel).items():
        term = dout2d[i, j] * window
        if verbose:
            print(f"dout[{i},{j}] = {dout2d[i, j]:g} times the window at ({i},{j}):\n{window}\n"
                  f"  = {np.array2string(term, prefix='  = ')}")
        total += term
    return total


print("dw[0]:")
dw0_by_hand = dw_by_steps(x[0, 0], dout[0, 0], 3)
print("sum of the four terms:\n", dw0_by_hand)

# %% [markdown]
# There is a shortcut that makes this one doable in your head: the window at `(0, 1)` is
# the window at `(0, 0)` plus 1, the one at `(1, 0)` is it plus 4 and the one at `(1, 1)`
# is it plus 5. With `A` the window at `(0, 0)`,
#
# `dw[0] = -4 A - 4 (A + 1) + 10 (A + 4) + 11 (A + 5) = 13 A + 91`,
# `dw[1] = A - 7 (A + 1) + (A + 4) - 11 (A + 5) = -16 A - 58`.
#
# (The coefficient of `A` is `db` again: every window is `A` plus a constant, so `A`
# collects each upstream gradient exactly once, just as the bias does.)

# %%
window_00 = x[0, 0, :3, :3]
dw_by_hand = np.stack([13 * window_00 + 91, -16 * window_00 - 58])[:, None]   # (2, 1, 3, 3)
assert np.array_equal(dw_by_hand[0, 0], dw0_by_hand)
assert np.array_equal(dw_by_hand[1, 0], dw_by_steps(x[0, 0], dout[0, 1], 3, verbose=False))
print("dw[1]:\n", dw_by_hand[1, 0])

# %% [markdown]
# As a formula, `dw[f, c, k, l] = sum_{i,j} dout[f, i, j] * x[c, i+k, j+l]`: the upstream
# gradient slides over the input like a filter, a *correlation*. A small loop-based 2D
# correlation makes that concrete and is reused below:

# %%
def correlate2d_valid(image, kernel):
    """out[i, j] = sum_{k,l} image[i+k, j+l] * kernel[k, l]: windows that fit entirely."""
    kernel_h, kernel_w = kernel.shape
    out_h, out_w = image.shape[0] - kernel_h + 1, image.shape[1] - kernel_w + 1
    out = np.zeros((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            out[i, j] = np.sum(image[i:i + kernel_h, j:j + kernel_w] * kernel)
    return out


for f in range(2):
    assert np.array_equal(correlate2d_valid(x[0, 0], dout[0, f]), dw_by_hand[f, 0])
print("dw[f] == correlate(x, dout[f]) for both filters")

# %% [markdown]
# ### `dx`: each output sends its gradient back through its window
#
# Output `(i, j)` of filter `f` used the pixels of its window, pixel `x[i+k, j+l]` with
# weight `w[f, k, l]`. Going backwards, it adds `dout[f, i, j] * w[f]` onto that window of
# `dx`. Our filters have two taps each, so every output touches just two pixels:

# %%
def dx_by_steps(dout3d, filters, input_shape, verbose=True):
    """dx of a one-channel input as the explicit sum of every output's contribution."""
    dx2d = np.zeros(input_shape)
    for f, dout2d in enumerate(dout3d):
        for (i, j), grad in np.ndenumerate(dout2d):
            for (k, l), tap in np.ndenumerate(filters[f]):
                if tap and grad:
                    dx2d[i + k, j + l] += grad * tap
                    if verbose:
                        print(f"filter {f}, output ({i},{j}): dx[{i + k},{j + l}] += "
                              f"{grad:g} * {tap:g}")
    return dx2d


dx_by_hand = dx_by_steps(dout[0], w[:, 0], (4, 4))
print("dx:\n", dx_by_hand)

# %% [markdown]
# Collecting the contributions per pixel, for instance
# `dx[2,2] = (+4) + 11 + 1 + 11 = 27` (filter 0 from outputs (0,1) and (1,1), filter 1
# from outputs (1,0) and (1,1)). The first column and the top row get nothing: no filter
# tap ever lands there, because both filters have zeros in their first row and column.
#
# ### `dx` as a full convolution with the rotated filter
#
# Summing "gradient times filter, placed at the output's window" over all outputs is the
# 2D version of `np.convolve(dy, w, "full")`. As a correlation: pad `dout` with `K-1 = 2`
# zeros on every side and correlate it with the filter rotated by 180 degrees
# (`np.rot90(w, 2)` reverses both axes). The result is 4x4, the size of the input.

# %%
print("filter 0 rotated by 180 degrees:\n", np.rot90(w[0, 0], 2))
kernel = w.shape[-1]
dx_full_conv = sum(correlate2d_valid(np.pad(dout[0, f], kernel - 1), np.rot90(w[f, 0], 2))
                   for f in range(2))
print("sum over filters of correlate(pad(dout[f], 2), rot180(w[f])):\n", dx_full_conv)
assert np.array_equal(dx_full_conv, dx_by_hand)

# %% [markdown]
# ### The code agrees
#
# The layer's backward pass, and centered differences of the forward pass, give the
# numbers we found by hand:

# %%
# NBVAL_IGNORE_OUTPUT
# (the size of round-off errors may differ between machines)
dx, dw, db = conv_backward_naive(dout, cache)
assert np.array_equal(dx[0, 0], dx_by_hand)
assert np.array_equal(dw, dw_by_hand)
assert np.array_equal(db, db_by_hand)

dx_num = eval_numerical_gradient_array(
    lambda v: conv_forward_naive(v, w, b, conv_param)[0], x, dout)
dw_num = eval_numerical_gradient_array(
    lambda v: conv_forward_naive(x, v, b, conv_param)[0], w, dout)
db_num = eval_numerical_gradient_array(
    lambda v: conv_forward_naive(x, w, v, conv_param)[0], b, dout)
print(f"relative errors vs numeric: dx {rel_error(dx, dx_num):.1e}, "
      f"dw {rel_error(dw, dw_num):.1e}, db {rel_error(db, db_num):.1e}")
assert max(rel_error(dx, dx_num), rel_error(dw, dw_num), rel_error(db, db_num)) < 1e-8

# %% [markdown]
# ## 3. The same example with padding 1
#
# With one ring of zeros around `x` the 3x3 window fits at 4x4 positions, so each filter
# now produces a 4x4 output. Inside, nothing changes (`-4` and `1`); on the border the
# window reaches into the zeros: filter 0 at the bottom row computes `x[3, j] - 0`, and
# filter 1 at the right column computes `0 - x[i, 3]`.

# %%
conv_param_pad = {"stride": 1, "pad": 1}
out_pad, cache_pad = conv_forward_naive(x, w, b, conv_param_pad)
print("output of filter 0:\n", out_pad[0, 0])
print("output of filter 1:\n", out_pad[0, 1])
assert np.array_equal(out_pad[0, 0, 3], x[0, 0, 3])
assert np.array_equal(out_pad[0, 1, :, 3], -x[0, 0, :, 3])
# The padded output at (i + 1, j + 1) uses the same window as the unpadded one at (i, j):
assert np.array_equal(out_pad[:, :, 1:3, 1:3], out)

# %% [markdown]
# **Check 1.** Give the padded layer the same upstream gradient at those four centre
# positions and zero on the border. The centre outputs are the very same functions of
# `x`, `w` and `b` as before, so all three gradients must be unchanged:

# %%
dout_centre = np.zeros((1, 2, 4, 4))
dout_centre[:, :, 1:3, 1:3] = dout
dx_c, dw_c, db_c = conv_backward_naive(dout_centre, cache_pad)
assert np.array_equal(dx_c, dx) and np.array_equal(dw_c, dw) and np.array_equal(db_c, db)
print("same dx, dw and db as without padding")

# %% [markdown]
# **Check 2.** Now an upstream gradient on all 16 positions of each filter. The recipe is
# the one from the unpadded case, applied to the *padded* input `x_pad` (6x6):
#
# * `db[f]` is the sum of the 16 gradients of filter `f`;
# * `dw[f] = correlate(x_pad, dout[f])`: 6x6 with a 4x4 kernel gives 3x3, the filter size.
#   The zeros of the padding contribute nothing;
# * `dx_pad` is computed for the padded input, output by output as before, and the
#   padding ring is cut off at the end: the zeros are constants, not inputs, so their
#   gradient is thrown away. Equivalently, `dx` is the full convolution of `dout` with
#   the filter, cropped by `pad` on each side.

# %%
dout_pad = np.array([[[[1, -1, 2, 0], [0, 3, -2, 1], [-1, 0, 1, 2], [2, 1, 0, -3]],
                      [[0, 2, -1, 1], [1, 0, 0, -2], [3, -1, 2, 0], [0, 1, -1, 1]]]], dtype=float)
x_pad = np.pad(x[0, 0], 1)
print("x_pad:\n", x_pad)

db_pad_by_hand = dout_pad[0].sum(axis=(1, 2))
dw_pad_by_hand = np.stack([correlate2d_valid(x_pad, dout_pad[0, f]) for f in range(2)])[:, None]
dx_pad_by_hand = dx_by_steps(dout_pad[0], w[:, 0], (6, 6), verbose=False)
dx_cropped = dx_pad_by_hand[1:-1, 1:-1]
print("db =", db_pad_by_hand)
print("dw[0] = correlate(x_pad, dout[0]):\n", dw_pad_by_hand[0, 0])
print("dx on the padded input (6x6):\n", dx_pad_by_hand)
print("dx = its centre (4x4):\n", dx_cropped)

# %%
full = sum(correlate2d_valid(np.pad(dout_pad[0, f], kernel - 1), np.rot90(w[f, 0], 2))
           for f in range(2))
assert np.array_equal(full[1:-1, 1:-1], dx_cropped)   # full convolution, cropped by pad

dx_p, dw_p, db_p = conv_backward_naive(dout_pad, cache_pad)
assert np.array_equal(dx_p[0, 0], dx_cropped)
assert np.array_equal(dw_p, dw_pad_by_hand)
assert np.array_equal(db_p, db_pad_by_hand)

dx_num = eval_numerical_gradient_array(
    lambda v: conv_forward_naive(v, w, b, conv_param_pad)[0], x, dout_pad)
dw_num = eval_numerical_gradient_array(
    lambda v: conv_forward_naive(x, v, b, conv_param_pad)[0], w, dout_pad)
assert rel_error(dx_p, dx_num) < 1e-8 and rel_error(dw_p, dw_num) < 1e-8
print("by hand == conv_backward_naive == numeric gradient, with padding 1")

# %% [markdown]
# ## 4. Beyond the example
#
# The same reasoning covers several channels (sum over `c` as well), several examples
# (sum `dw` and `db` over the batch too) and strides: with stride `S`, output `(i, j)`
# sits at `(S i, S j)` of the input, so `dx` is the full convolution of `dout` *dilated*
# by inserting `S - 1` zeros between its entries. A check on random data, with both:

# %%
rng = np.random.default_rng(0)
x_r = rng.standard_normal((2, 3, 7, 7))
w_r = rng.standard_normal((4, 3, 3, 3))
b_r = rng.standard_normal(4)
param_r = {"stride": 2, "pad": 1}
out_r, cache_r = conv_forward_naive(x_r, w_r, b_r, param_r)
dout_r = rng.standard_normal(out_r.shape)
dx_r, dw_r, db_r = conv_backward_naive(dout_r, cache_r)

# dx from the dilated upstream gradient: for each example and input channel, sum over filters.
dilated = np.zeros((2, 4, 7 + 2 - 3 + 1, 7 + 2 - 3 + 1))     # positions of a stride-1 output
dilated[:, :, ::2, ::2] = dout_r
dx_dilated = np.array([[sum(correlate2d_valid(np.pad(dilated[n, f], 2), np.rot90(w_r[f, c], 2))
                            for f in range(4))[1:-1, 1:-1] for c in range(3)] for n in range(2)])
assert rel_error(dx_dilated, dx_r) < 1e-10
assert rel_error(db_r, dout_r.sum(axis=(0, 2, 3))) < 1e-12
assert rel_error(dw_r, eval_numerical_gradient_array(
    lambda v: conv_forward_naive(x_r, v, b_r, param_r)[0], w_r, dout_r)) < 1e-7
print("stride 2, pad 1, 3 channels, 2 examples: dilated full convolution gives dx")

# %% [markdown]
# ## Summary
#
# | gradient | what it is | shape |
# |---|---|---|
# | `db[f]` | sum of `dout[:, f]` | `(F,)` |
# | `dw[f, c]` | correlation of the (padded) input channel `c` with `dout[:, f]`, summed over examples | `(F, C, HH, WW)` |
# | `dx[n, c]` | sum over `f` of the full convolution of `dout[n, f]` with `w[f, c]` (correlation with the 180-degree rotated filter), cropped by the padding | `(N, C, H, W)` |
