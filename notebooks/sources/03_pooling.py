# Source of notebooks/03_pooling.ipynb (build: python notebooks/build_notebooks.py)

# %% [markdown]
# # 3. Pooling
#
# A pooling layer shrinks each channel on its own by summarising small windows: max
# pooling keeps the largest value of every window, average pooling the mean. It has no
# parameters, so its backward pass only has to answer one question: *which inputs did
# each output depend on, and how much?* This notebook looks at
#
# 1. max pooling and its mask,
# 2. what happens when several inputs of a window tie for the maximum,
# 3. overlapping windows,
# 4. average pooling and its gradient.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

from nndl.conv_layers import (avg_pool_backward_naive, avg_pool_forward_naive,
                              conv_forward_naive, max_pool_backward_naive,
                              max_pool_forward_naive)
from utils.fast_layers import (avg_pool_backward_fast, avg_pool_forward_fast,
                               max_pool_backward_fast, max_pool_forward_fast)
from utils.gradient_check import eval_numerical_gradient_array, rel_error

np.set_printoptions(linewidth=100, suppress=True)


def as_batch(image):
    """A 2D array as a batch of one example with one channel: shape (1, 1, H, W)."""
    return np.asarray(image, dtype=float)[None, None]


# %% [markdown]
# ## 1. Max pooling and its mask
#
# A 4x4 input, 2x2 windows, stride 2: four windows that tile the input.

# %%
x = as_batch([[1, 3, 2, 0],
              [4, 2, 5, 1],
              [0, 6, 1, 2],
              [7, 2, 3, 8]])
pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
out, cache = max_pool_forward_naive(x, pool_param)
print(out[0, 0])
assert np.array_equal(out[0, 0], [[4, 5], [7, 8]])

# %% [markdown]
# The output is `max(window)`. Its derivative is 1 with respect to the input that *is*
# the maximum and 0 for the others: nudging a non-maximal input a little does not change
# the output at all. The **mask** of a window marks its maximum; the backward pass sends
# each window's upstream gradient through its mask and nowhere else.

# %%
def max_pool_masks(x2d, pool, stride):
    """One boolean mask per window (same shape as x2d) marking that window's maximum."""
    masks = {}
    out_h = (x2d.shape[0] - pool) // stride + 1
    out_w = (x2d.shape[1] - pool) // stride + 1
    for i in range(out_h):
        for j in range(out_w):
            window = x2d[i * stride:i * stride + pool, j * stride:j * stride + pool]
            row, col = np.unravel_index(np.argmax(window), window.shape)
            mask = np.zeros(x2d.shape, dtype=bool)
            mask[i * stride + row, j * stride + col] = True
            masks[i, j] = mask
    return masks


dout = as_batch([[10, 20],
                 [30, 40]])
masks = max_pool_masks(x[0, 0], pool=2, stride=2)
dx_by_hand = sum(dout[0, 0][i, j] * mask for (i, j), mask in masks.items())
print("all four masks together:\n", sum(masks.values()).astype(int))
print("dx = sum over windows of dout * mask:\n", dx_by_hand)

dx = max_pool_backward_naive(dout, cache)
assert np.array_equal(dx[0, 0], dx_by_hand)
assert dx.sum() == dout.sum()   # every window hands on its whole gradient, once

# %% [markdown]
# In a picture: each window (thick frame) with its maximum marked, then where the
# upstream gradient lands.

# %%
def show_pooling(x2d, dx2d, pool, stride, title):
    """Left: the input with every window framed and each window's maximum coloured.
    Right: the gradient dx that the backward pass produces."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.8))
    maxima = sum(max_pool_masks(x2d, pool, stride).values())
    left.imshow(maxima > 0, cmap="Blues", vmin=0, vmax=1.5)
    colors = plt.cm.tab10.colors
    out_h = (x2d.shape[0] - pool) // stride + 1
    out_w = (x2d.shape[1] - pool) // stride + 1
    for k, (i, j) in enumerate(np.ndindex(out_h, out_w)):
        inset = 0.06 * (k % 4)   # overlapping frames are drawn slightly inside each other
        left.add_patch(plt.Rectangle((j * stride - 0.5 + inset, i * stride - 0.5 + inset),
                                     pool - 2 * inset, pool - 2 * inset, fill=False,
                                     edgecolor=colors[k % 10], linewidth=2.5))
    for (r, c), value in np.ndenumerate(x2d):
        left.text(c, r, f"{value:g}", ha="center", va="center")
    left.set_title("input, windows and their maxima")
    limit = np.abs(dx2d).max()
    right.imshow(dx2d, cmap="RdBu", vmin=-limit, vmax=limit)
    for (r, c), value in np.ndenumerate(dx2d):
        right.text(c, r, f"{value:g}", ha="center", va="center",
                   color="white" if abs(value) > limit / 2 else "black")
    right.set_title("dx")
    for ax in (left, right):
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title)
    plt.tight_layout()
    plt.show()


show_pooling(x[0, 0], dx[0, 0], 2, 2, "2x2 max pooling, stride 2, upstream gradient 10, 20, 30, 40")

# %% [markdown]
# The fast layer of the course (`utils.fast_layers`) finds the same maxima and routes the
# gradient the same way, on a whole batch at once:

# %%
rng = np.random.default_rng(0)
x_batch = rng.standard_normal((8, 3, 16, 16))
out_naive, cache_naive = max_pool_forward_naive(x_batch, pool_param)
out_fast, cache_fast = max_pool_forward_fast(x_batch, pool_param)
dout_batch = rng.standard_normal(out_naive.shape)
assert np.array_equal(out_naive, out_fast)
assert np.array_equal(max_pool_backward_naive(dout_batch, cache_naive),
                      max_pool_backward_fast(dout_batch, cache_fast))
print("naive and fast max pooling agree")

# %% [markdown]
# ## 2. Ties
#
# What if two inputs of a window share the maximum? Take the window `[[2, 2], [1, 0]]`.
# The maximum is not differentiable there: raising the first 2 a little raises the
# output, lowering it a little does not lower it (the second 2 takes over). Any split of
# the gradient between the tied inputs, with shares adding up to 1, is a valid
# *subgradient*. The common choices:
#
# * **first maximum** (`np.argmax` order, row by row): all of the gradient to one input.
#   This is what `max_pool_backward_naive` and `max_pool_backward_fast` do;
# * **split equally**: each tied input gets `1/k` of it;
# * *not* a valid choice: giving each tied input the *whole* gradient (a mask built
#   with `x == max`), which would count it `k` times.
#
# Centered differences see the average of the left and right slopes, so the numeric
# gradient is the *split* version, and a gradient check at a tie disagrees with the
# analytic gradient even though both are "right":

# %%
tie = as_batch([[2, 2], [1, 0]])
one_window = {"pool_height": 2, "pool_width": 2, "stride": 2}
_, tie_cache = max_pool_forward_naive(tie, one_window)
dout_one = as_batch([[1.0]])

first_max = max_pool_backward_naive(dout_one, tie_cache)[0, 0]
numeric = eval_numerical_gradient_array(
    lambda v: max_pool_forward_naive(v, one_window)[0], tie.copy(), dout_one)[0, 0]
whole_to_each = (tie[0, 0] == tie[0, 0].max()).astype(float)
print("first maximum (the layer):\n", first_max)
print("numeric (centered differences):\n", numeric)
print("x == max mask (wrong: the gradient is counted twice):\n", whole_to_each)
assert np.array_equal(first_max, [[1, 0], [0, 0]])
assert np.allclose(numeric, [[0.5, 0.5], [0, 0]])
assert whole_to_each.sum() == 2

# %% [markdown]
# Ties are not exotic: after a ReLU, every window that lies entirely in a negative region
# is all zeros, a tie of 4. (Any choice is harmless there, as long as the upstream
# gradient is handed on exactly once.) This is why gradient checks of max pooling use
# random real-valued inputs, where ties have probability zero. How common are all-zero
# windows after a ReLU on random inputs?

# %%
# NBVAL_IGNORE_OUTPUT
# (a statistic of random numbers: the assert below checks it)
relu_maps = np.maximum(rng.standard_normal((100, 8, 16, 16)), 0)
windows = relu_maps.reshape(100, 8, 8, 2, 8, 2)
all_zero = (windows.max(axis=(3, 5)) == 0).mean()
print(f"share of 2x2 windows that are all zero after a ReLU: {all_zero:.3f} "
      f"(1/16 = {1 / 16:.4f} expected)")
assert abs(all_zero - 1 / 16) < 0.01

# %% [markdown]
# ## 3. Overlapping windows
#
# With a stride smaller than the window (e.g. 3x3 windows, stride 2, as in AlexNet),
# neighbouring windows share inputs. An input that is the maximum of several windows
# receives the gradient of each of them: the contributions add up. Below, the centre
# pixel (9) is the maximum of all four windows of a 5x5 input, so its gradient is the sum
# of all four upstream gradients.

# %%
x_overlap = as_batch([[1, 0, 2, 0, 3],
                      [0, 4, 0, 5, 0],
                      [2, 0, 9, 0, 1],
                      [0, 6, 0, 7, 0],
                      [3, 0, 1, 0, 2]])
overlap_param = {"pool_height": 3, "pool_width": 3, "stride": 2}
out_overlap, overlap_cache = max_pool_forward_naive(x_overlap, overlap_param)
dout_overlap = as_batch([[1, 2], [3, 4]])
dx_overlap = max_pool_backward_naive(dout_overlap, overlap_cache)
print("output:\n", out_overlap[0, 0])
print("dx:\n", dx_overlap[0, 0])
assert dx_overlap[0, 0, 2, 2] == 1 + 2 + 3 + 4

show_pooling(x_overlap[0, 0], dx_overlap[0, 0], 3, 2, "3x3 windows, stride 2: they overlap")

# %% [markdown]
# On random inputs (no ties) the analytic gradient with overlapping windows matches the
# numeric one, and the naive and fast layers agree:

# %%
x_rand = rng.standard_normal((2, 3, 9, 9))
_, rand_cache = max_pool_forward_naive(x_rand, overlap_param)
out_fast, rand_cache_fast = max_pool_forward_fast(x_rand, overlap_param)
dout_rand = rng.standard_normal(out_fast.shape)
dx_rand = max_pool_backward_naive(dout_rand, rand_cache)
dx_num = eval_numerical_gradient_array(
    lambda v: max_pool_forward_naive(v, overlap_param)[0], x_rand, dout_rand)
assert rel_error(dx_rand, dx_num) < 1e-8
assert np.allclose(dx_rand, max_pool_backward_fast(dout_rand, rand_cache_fast))
print("overlapping windows: analytic == numeric == fast")

# %% [markdown]
# ## 4. Average pooling and its gradient
#
# An average-pooling output is `(1 / (ph * pw)) * sum(window)`: every input of the window
# counts equally, so every input receives the same share `dout / (ph * pw)` of the
# window's gradient. With windows that tile the input this is just each gradient spread
# evenly over its window, which `np.kron` writes in one line:

# %%
out_avg, avg_cache = avg_pool_forward_naive(x, pool_param)
print("average pooling of the first input:\n", out_avg[0, 0])
dx_avg = avg_pool_backward_naive(dout, avg_cache)
print("dx:\n", dx_avg[0, 0])
assert np.array_equal(dx_avg[0, 0], np.kron(dout[0, 0], np.ones((2, 2))) / 4)
assert np.isclose(dx_avg.sum(), dout.sum())

# %% [markdown]
# Unlike max pooling, the gradient does not depend on the values of `x` at all: average
# pooling is *linear*. In fact it is a convolution whose filter holds `1 / (ph * pw)`
# everywhere, with stride equal to the window, applied to each channel separately. For
# `C` channels that is a filter bank `w[f, c] = (f == c) / (ph * pw)`: filter `f` reads
# only channel `f`.

# %%
channels = 3
x_channels = rng.standard_normal((2, channels, 6, 6))
w_avg = np.zeros((channels, channels, 2, 2))
for c in range(channels):
    w_avg[c, c] = 1 / 4
as_conv, _ = conv_forward_naive(x_channels, w_avg, np.zeros(channels), {"stride": 2, "pad": 0})
as_pool, _ = avg_pool_forward_naive(x_channels, pool_param)
assert np.allclose(as_conv, as_pool)
print("average pooling == convolution with a constant per-channel filter")

# %% [markdown]
# With overlapping windows the shares add up where windows overlap. The numeric gradient
# confirms it, and the fast layer agrees:

# %%
_, avg_cache = avg_pool_forward_naive(x_rand, overlap_param)
out_fast, avg_cache_fast = avg_pool_forward_fast(x_rand, overlap_param)
dx_avg = avg_pool_backward_naive(dout_rand, avg_cache)
dx_num = eval_numerical_gradient_array(
    lambda v: avg_pool_forward_naive(v, overlap_param)[0], x_rand, dout_rand)
assert rel_error(dx_avg, dx_num) < 1e-8
assert np.allclose(dx_avg, avg_pool_backward_fast(dout_rand, avg_cache_fast))

counts = avg_pool_backward_naive(np.ones((1, 1, 2, 2)),
                                 avg_pool_forward_naive(np.zeros((1, 1, 5, 5)), overlap_param)[1])
print("how many 3x3 windows (stride 2) each input of a 5x5 map belongs to:\n",
      np.rint(counts[0, 0] * 9).astype(int))

# %% [markdown]
# A special case used by ResNet and most later networks is **global average pooling**:
# one window covering the whole map, turning each `(H, W)` channel into a single number.
# Its gradient spreads `dout / (H * W)` evenly over the map.

# %%
feature_maps = rng.standard_normal((4, 16, 7, 7))
global_param = {"pool_height": 7, "pool_width": 7, "stride": 7}
pooled, global_cache = avg_pool_forward_naive(feature_maps, global_param)
assert pooled.shape == (4, 16, 1, 1)
assert np.allclose(pooled[:, :, 0, 0], feature_maps.mean(axis=(2, 3)))
dx_global = avg_pool_backward_naive(np.ones_like(pooled), global_cache)
assert np.allclose(dx_global, 1 / 49)
print(feature_maps.shape, "->", pooled.shape)

# %% [markdown]
# ## Summary
#
# * Max pooling: the gradient of each window goes to its maximum (the mask); where
#   windows overlap, the contributions add up.
# * At ties the maximum is not differentiable; the layers here give everything to the
#   first maximum. The gradient must be handed on exactly once.
# * Average pooling is linear (a constant per-channel convolution): every input of a
#   window gets `1 / (ph * pw)` of the window's gradient.
