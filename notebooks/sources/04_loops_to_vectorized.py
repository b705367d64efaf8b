# Source of notebooks/04_loops_to_vectorized.ipynb (build: python notebooks/build_notebooks.py)

# %% [markdown]
# # 4. From loops to vectorized code
#
# A convolution is easy to write with loops and slow to run that way. This notebook
# computes the *same* convolution five times, each version moving more of the work out of
# the Python interpreter and into NumPy:
#
# 1. seven nested loops, one multiply-add at a time;
# 2. the triple loop over (example, output row, output column), all filters at once;
# 3. a double loop over output positions, broadcasting over the batch and the channels
#    (this is how `nndl.conv_layers.conv_forward_naive` works);
# 4. im2col: copy every window into a matrix, then one matrix product;
# 5. `utils.fast_layers.conv_forward_fast`, the course's im2col with cheaper copies.
#
# Then we time them on the same inputs.

# %%
# %matplotlib inline
import time

import matplotlib.pyplot as plt
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from nndl.conv_layers import conv_forward_naive, conv_output_size
from utils.fast_layers import conv_forward_fast

# %% [markdown]
# All versions take the course's arguments: `x` of shape `(N, C, H, W)`, `w` of shape
# `(F, C, HH, WW)`, `b` of shape `(F,)`, an integer `stride` and `pad`.
#
# ## 1. Seven loops
#
# The definition, literally: every output value is a sum over channels and window
# positions. Every multiply-add is one trip through the interpreter.

# %%
def conv_seven_loops(x, w, b, stride, pad):
    num_examples, channels, height, width = x.shape
    filters, _, kernel_h, kernel_w = w.shape
    out_h, out_w = conv_output_size((height, width), (kernel_h, kernel_w), stride, pad)
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((num_examples, filters, out_h, out_w))
    for n in range(num_examples):
        for f in range(filters):
            for i in range(out_h):
                for j in range(out_w):
                    total = b[f]
                    for c in range(channels):
                        for k in range(kernel_h):
                            for l in range(kernel_w):
                                total += x_pad[n, c, i * stride + k, j * stride + l] * w[f, c, k, l]
                    out[n, f, i, j] = total
    return out


# %% [markdown]
# ## 2. The triple loop
#
# The three innermost loops are one elementwise product and a sum: `window * w[f]`. Going
# one step further, `window` of shape `(C, HH, WW)` times all filters `w` of shape
# `(F, C, HH, WW)` broadcasts to `(F, C, HH, WW)`, and summing the last three axes gives
# the `F` outputs of that position. Three loops remain: example, row, column.

# %%
def conv_triple_loop(x, w, b, stride, pad):
    num_examples = x.shape[0]
    filters, _, kernel_h, kernel_w = w.shape
    out_h, out_w = conv_output_size(x.shape[2:], (kernel_h, kernel_w), stride, pad)
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((num_examples, filters, out_h, out_w))
    for n in range(num_examples):
        for i in range(out_h):
            for j in range(out_w):
                window = x_pad[n, :, i * stride:i * stride + kernel_h,
                               j * stride:j * stride + kernel_w]       # (C, HH, WW)
                out[n, :, i, j] = (window * w).sum(axis=(1, 2, 3)) + b  # (F,)
    return out


# %% [markdown]
# ## 3. Broadcasting over batch and channels
#
# The window at position `(i, j)` can be cut from all examples at once: shape
# `(N, C, HH, WW)`. To pair every example with every filter, give the windows a filter
# axis and the filters an example axis:
#
# ```
# windows[:, None]   (N, 1, C, HH, WW)
# w[None]            (1, F, C, HH, WW)
# product            (N, F, C, HH, WW)  -> sum over the last three axes -> (N, F)
# ```
#
# Two loops remain, over the output positions; their number does not depend on the
# batch size or the number of channels and filters.

# %%
def conv_broadcast(x, w, b, stride, pad):
    num_examples = x.shape[0]
    filters, _, kernel_h, kernel_w = w.shape
    out_h, out_w = conv_output_size(x.shape[2:], (kernel_h, kernel_w), stride, pad)
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((num_examples, filters, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            windows = x_pad[:, :, i * stride:i * stride + kernel_h,
                            j * stride:j * stride + kernel_w]            # (N, C, HH, WW)
            out[:, :, i, j] = (windows[:, None] * w[None]).sum(axis=(2, 3, 4)) + b
    return out


# %% [markdown]
# The broadcast product materialises an `(N, F, C, HH, WW)` array at every position.
# `np.tensordot(windows, w, axes=([1, 2, 3], [1, 2, 3]))` computes the same `(N, F)`
# result as a matrix product without that temporary; `conv_forward_naive` does exactly
# this, so we time it as version 3b.
#
# ## 4. im2col
#
# Now remove the last loops. Lay every window out as one *column* of a matrix (hence the
# name, "image to columns"): for `N` examples and `H_out * W_out` positions, the matrix
# `cols` has `C * HH * WW` rows and `N * H_out * W_out` columns. The filters, flattened
# the same way, are an `(F, C * HH * WW)` matrix, and the whole convolution is one
# product:
#
# ```
# w.reshape(F, -1) @ cols    (F, N * H_out * W_out)
# ```
#
# `np.lib.stride_tricks.sliding_window_view` builds a *view* of all windows without
# copying; the `reshape` into a matrix is where the copy happens. Ordering the columns
# by (example, row, column), the last axis of the copy runs along the rows of the image,
# which keeps the copy fast.

# %%
def im2col(x_pad, kernel_h, kernel_w, stride):
    """Every window of x_pad (N, C, Hp, Wp) as a column: shape (C * HH * WW, N * H_out * W_out)."""
    windows = sliding_window_view(x_pad, (kernel_h, kernel_w), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]                  # (N, C, H_out, W_out, HH, WW)
    num_examples, channels, out_h, out_w = windows.shape[:4]
    cols = windows.transpose(1, 4, 5, 0, 2, 3).reshape(channels * kernel_h * kernel_w, -1)
    return cols, (out_h, out_w)


def conv_im2col(x, w, b, stride, pad):
    filters, _, kernel_h, kernel_w = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols, (out_h, out_w) = im2col(x_pad, kernel_h, kernel_w, stride)
    out = w.reshape(filters, -1) @ cols + b[:, None]               # (F, N * H_out * W_out)
    return out.reshape(filters, x.shape[0], out_h, out_w).transpose(1, 0, 2, 3)


# %% [markdown]
# The price of im2col is memory: each input value is copied into every window that
# contains it, about `HH * WW / stride**2` times.

# %%
x_demo = np.zeros((32, 16, 32, 32))
cols_demo, _ = im2col(np.pad(x_demo, ((0, 0), (0, 0), (1, 1), (1, 1))), 3, 3, 1)
print(f"input: {x_demo.shape}, {x_demo.nbytes / 2**20:.0f} MiB")
print(f"cols:  {cols_demo.shape}, {cols_demo.nbytes / 2**20:.0f} MiB "
      f"({cols_demo.size / x_demo.size:.0f} times the input)")
assert cols_demo.size == 9 * x_demo.size

# %% [markdown]
# ## Do they all compute the same thing?
#
# Before timing anything, check that every version gives the layer's result, with and
# without stride and padding:

# %%
def course_layer(layer):
    """The course's (out, cache) layer as a function of (x, w, b, stride, pad) -> out."""
    return lambda x, w, b, stride, pad: layer(x, w, b, {"stride": stride, "pad": pad})[0]


versions = {
    "7 loops": conv_seven_loops,
    "triple loop": conv_triple_loop,
    "broadcast": conv_broadcast,
    "conv_forward_naive": course_layer(conv_forward_naive),
    "im2col": conv_im2col,
    "conv_forward_fast": course_layer(conv_forward_fast),
}

rng = np.random.default_rng(0)
x_small = rng.standard_normal((2, 3, 7, 7))
w_small = rng.standard_normal((4, 3, 3, 3))
b_small = rng.standard_normal(4)
for stride, pad in [(1, 0), (1, 1), (2, 1), (3, 2)]:
    expected, _ = conv_forward_naive(x_small, w_small, b_small, {"stride": stride, "pad": pad})
    for name, conv in versions.items():
        result = conv(x_small, w_small, b_small, stride, pad)
        assert np.allclose(result, expected), (name, stride, pad)
print(f"all {len(versions)} versions agree")

# %% [markdown]
# ## Timing
#
# The inputs: a batch of 4 images, 3 channels, 16x16, eight 3x3 filters, padding 1. Each
# version runs a few times and we keep the fastest run (the least disturbed by whatever
# else the machine is doing). The numbers depend on the machine; the *ratios* are what
# matters.

# %%
def best_time(function, *args, repeats=3):
    """Fastest of `repeats` runs of function(*args), in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - start)
    return min(times)


x_t = rng.standard_normal((4, 3, 16, 16))
w_t = rng.standard_normal((8, 3, 3, 3))
b_t = rng.standard_normal(8)
timings = {name: best_time(conv, x_t, w_t, b_t, 1, 1, repeats=1 if name == "7 loops" else 3)
           for name, conv in versions.items()}

# %% [markdown]
# How many Python-level steps does each version take on these inputs? That count, not
# the arithmetic (the same 221,184 multiply-adds everywhere), explains most of the time.
#
# `conv_forward_fast` (`utils/fast_layers.py`) is im2col with two refinements. It fills
# `cols` with one strided copy per *stride phase* (`S_h * S_w` copies: one for stride 1)
# instead of one per kernel offset, and it works on a few examples at a time, in chunks
# whose `cols` takes at most 8 MiB, so that memory stays bounded on large batches. On
# these inputs that is one chunk and one copy: a handful of NumPy calls whatever the
# kernel size, like `im2col`. (Its backward pass still adds the gradients of the windows
# back with one NumPy call per kernel offset, `K * K` of them.)

# %%
N, C, H, W, F, K = 4, 3, 16, 16, 8, 3
steps = {
    "7 loops": N * F * H * W * C * K * K,
    "triple loop": N * H * W,
    "broadcast": H * W,
    "conv_forward_naive": H * W,
    "im2col": 1,
    "conv_forward_fast": 1,     # one chunk, one copy per stride phase (S * S = 1)
}
for name, count in steps.items():
    print(f"{name:>20}: {count:>7,} steps in Python")

# %%
# NBVAL_IGNORE_OUTPUT
# (timings vary from run to run and machine to machine)
for name, seconds in timings.items():
    print(f"{name:>20}: {seconds * 1e3:9.3f} ms, speed-up over 7 loops: "
          f"{timings['7 loops'] / seconds:6.0f}x")

fig, ax = plt.subplots(figsize=(8, 3.5))
ax.barh(list(timings), [seconds * 1e3 for seconds in timings.values()], color="tab:blue")
ax.set_xscale("log")
ax.invert_yaxis()
ax.set_xlabel("time per forward pass (ms, log scale)")
ax.set_title("conv forward, x (4, 3, 16, 16), w (8, 3, 3, 3), pad 1")
plt.tight_layout()
plt.show()

# %% [markdown]
# Removing loops pays off by orders of magnitude. (Exact ratios vary between runs, but
# the ordering is robust: it comes from the step counts above.)

# %%
assert timings["7 loops"] > timings["triple loop"] > timings["broadcast"]
assert timings["broadcast"] > 2 * timings["im2col"]
print("ordering: 7 loops > triple loop > broadcast > im2col")

# %% [markdown]
# ## A larger layer
#
# On a layer closer to a real network (32 images, 16 channels, 32x32, 32 filters), only
# the vectorized versions are worth running. The double loop still makes 1,024 NumPy
# calls; im2col makes one big matrix product, which NumPy hands to an optimized BLAS.

# %%
x_l = rng.standard_normal((32, 16, 32, 32))
w_l = rng.standard_normal((32, 16, 3, 3))
b_l = rng.standard_normal(32)
large = {name: versions[name] for name in ["conv_forward_naive", "im2col", "conv_forward_fast"]}
reference = conv_forward_naive(x_l, w_l, b_l, {"stride": 1, "pad": 1})[0]
for name, conv in large.items():
    assert np.allclose(conv(x_l, w_l, b_l, 1, 1), reference)
timings_large = {name: best_time(conv, x_l, w_l, b_l, 1, 1) for name, conv in large.items()}

# %%
# NBVAL_IGNORE_OUTPUT
# (timings)
for name, seconds in timings_large.items():
    print(f"{name:>20}: {seconds * 1e3:8.1f} ms")
fig, ax = plt.subplots(figsize=(8, 2.5))
ax.barh(list(timings_large), [seconds * 1e3 for seconds in timings_large.values()],
        color="tab:green")
ax.invert_yaxis()
ax.set_xlabel("time per forward pass (ms)")
ax.set_title("conv forward, x (32, 16, 32, 32), w (32, 16, 3, 3), pad 1")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Summary
#
# * The cost of Python code is mostly the number of interpreter steps, not the number
#   of multiplications. Each loop that becomes an array operation divides that number
#   by the loop's length.
# * Broadcasting handles the batch, channel and filter axes; im2col turns the positions
#   into rows of a matrix so that the whole layer is one matrix product.
# * im2col trades memory (about `HH * WW / stride**2` copies of the input) for speed.
