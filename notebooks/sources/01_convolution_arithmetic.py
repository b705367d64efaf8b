# Source of notebooks/01_convolution_arithmetic.ipynb (build: python notebooks/build_notebooks.py)

# %% [markdown]
# # 1. Convolution arithmetic
#
# Before writing a single line of a convolutional layer, it pays to know what shapes go
# in and come out, and how many numbers the layer learns. This notebook covers
#
# 1. zero padding with `np.pad`,
# 2. the output size of a convolution (per-axis stride and padding, strides that do not fit),
# 3. the number of parameters of a convolutional layer,
# 4. why convolutions at all: locality, weight sharing, translation equivariance, and
#    what they save against a fully connected layer,
# 5. three worked cases, checked against the layer itself.
#
# Shapes follow the course convention `(N, C, H, W)`: examples, channels, rows, columns.
# Filters are stored as `(F, C, HH, WW)`: `F` filters, each spanning all `C` input
# channels and a window of `HH x WW` positions. Textbooks often write an image as
# `H x W x C` (e.g. "144x144x3"); it is the same data with the channel axis last.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

from nndl.conv_layers import conv_forward_naive, conv_output_size, conv_param_count

np.set_printoptions(linewidth=100)

# %% [markdown]
# ## 1. Zero padding with `np.pad`
#
# A convolution without padding shrinks its input: a 3x3 window fits into a 5x5 image at
# only 3x3 positions. Padding adds a frame of values (usually zeros) around the input so
# that the window can also be centred on the border pixels.
#
# `np.pad(array, pad_width, constant_values=0)` takes one `(before, after)` pair per axis.
# A single number pads every side of every axis by that amount:

# %%
image = np.arange(1, 7).reshape(2, 3)
print("image:\n", image)
print("np.pad(image, 1):\n", np.pad(image, 1))

# %% [markdown]
# Padding need not be the same on both sides (*asymmetric*) or on both axes (*per axis*).
# Here: 1 row above, 2 rows below, no column on the left and 3 on the right.

# %%
padded = np.pad(image, ((1, 2), (0, 3)))
print(padded)
assert padded.shape == (2 + 1 + 2, 3 + 0 + 3)

# %% [markdown]
# The fill value is `constant_values`; it can even differ per axis and side. Padding with
# something other than zero is rare in convolutions, but it makes the frame easy to see:

# %%
print(np.pad(image, ((1, 1), (2, 2)), constant_values=-1))
print(np.pad(image, ((1, 1), (1, 1)), constant_values=((7, 8), (5, 6))))

# %% [markdown]
# A batch of images `(N, C, H, W)` is padded only on its two spatial axes. Padding the
# example or channel axis would invent new images or channels, which is never wanted:

# %%
batch = np.ones((2, 3, 4, 5))
pad_h, pad_w = 1, 2
batch_padded = np.pad(batch, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)))
print(batch.shape, "->", batch_padded.shape)
assert batch_padded.shape == (2, 3, 4 + 2 * pad_h, 5 + 2 * pad_w)
assert batch_padded.sum() == batch.sum()  # only zeros were added

# %% [markdown]
# ## 2. Output size
#
# Look at one axis. The input has `W` positions, `P` zeros are added on each side, and a
# window of `K` positions moves in steps of `S`. The window starts at `0, S, 2S, ...` and
# the last start that still fits is at most `W + 2P - K`. Counting the starts gives
#
# $$W_{out} = \left\lfloor \frac{W + 2P - K}{S} \right\rfloor + 1 .$$
#
# When `S` does not divide `W + 2P - K`, the floor drops the last few columns: the window
# would stick out of the padded input there, so those columns are never visited.
# Let us count the starts directly and compare with the formula:

# %%
def window_starts(size, kernel, stride, pad):
    """Start positions (in padded coordinates) of every window that fits."""
    return list(range(0, size + 2 * pad - kernel + 1, stride))


def output_size(size, kernel, stride=1, pad=0):
    """The output-size formula for one axis."""
    return (size + 2 * pad - kernel) // stride + 1


for size, kernel, stride, pad in [(5, 3, 1, 0), (5, 3, 1, 1), (7, 3, 2, 0), (7, 3, 3, 0),
                                  (8, 3, 2, 1), (32, 5, 1, 2), (227, 11, 4, 0)]:
    starts = window_starts(size, kernel, stride, pad)
    assert len(starts) == output_size(size, kernel, stride, pad)
    unused = size + 2 * pad - (starts[-1] + kernel)
    print(f"W={size:3d} K={kernel:2d} S={stride} P={pad}: W_out={len(starts):3d}, "
          f"padded columns never covered: {unused}")

# %% [markdown]
# The figure shows the windows along one axis for a 7-wide input and a 3-wide window.
# With stride 2 the windows tile the input exactly; with stride 3 the last column (red)
# is never covered and is simply ignored by the layer. Grey cells are zero padding.

# %%
def draw_windows(ax, size, kernel, stride, pad):
    """Draw the padded input as a row of cells and every window below it."""
    padded_size = size + 2 * pad
    starts = window_starts(size, kernel, stride, pad)
    covered = np.zeros(padded_size, dtype=bool)
    for start in starts:
        covered[start:start + kernel] = True
    for column in range(padded_size):
        is_pad = column < pad or column >= pad + size
        color = "lightgrey" if is_pad else ("white" if covered[column] else "salmon")
        ax.add_patch(plt.Rectangle((column, 0), 1, 1, facecolor=color, edgecolor="black"))
    for row, start in enumerate(starts, start=1):
        ax.add_patch(plt.Rectangle((start + 0.1, -row), kernel - 0.2, 0.8,
                                   facecolor="tab:blue", alpha=0.6))
        ax.text(start + kernel / 2, -row + 0.4, f"output {row - 1}", ha="center",
                va="center", fontsize=8)
    ax.set_xlim(-0.5, padded_size + 0.5)
    ax.set_ylim(-len(starts) - 0.5, 1.5)
    ax.set_title(f"W={size}, K={kernel}, S={stride}, P={pad}: W_out={len(starts)}")
    ax.axis("off")


fig, axes = plt.subplots(1, 3, figsize=(12, 2.8))
for ax, (stride, pad) in zip(axes, [(2, 0), (3, 0), (2, 1)]):
    draw_windows(ax, size=7, kernel=3, stride=stride, pad=pad)
plt.tight_layout()
plt.show()

# %% [markdown]
# The two spatial axes are independent: each has its own stride and padding.
# `nndl.conv_layers.conv_output_size` applies the formula per axis and accepts an int
# (same for both axes) or a `(height, width)` pair for each argument:

# %%
print(conv_output_size((32, 32), 3, stride=1, pad=1))
print(conv_output_size((28, 40), (5, 3), stride=(1, 2), pad=(2, 0)))
print(conv_output_size((10, 10), 3, stride=4))   # (10 - 3) // 4 + 1 = 2: one column unused
assert conv_output_size((28, 40), (5, 3), stride=(1, 2), pad=(2, 0)) == (
    output_size(28, 5, 1, 2), output_size(40, 3, 2, 0))

# %% [markdown]
# Two classic exercises. A 5x5 input, a 2x2 kernel and padding 1: `(5 + 2 - 2) // 1 + 1 = 6`,
# so the output is *larger* than the input. With an even kernel and equal padding on both
# sides the output cannot be centred on the input; the windows at the corners see one
# real pixel, those along the edges two, the others four, which an all-ones input and an
# all-ones filter make visible. The same input and kernel with stride `(3, 1)` (3 rows
# down, 1 column across per step): `(5 + 2 - 2) // 3 + 1 = 2` rows and still 6 columns.

# %%
ones = np.ones((1, 1, 5, 5))
kernel_2x2 = np.ones((1, 1, 2, 2))
out_6x6, _ = conv_forward_naive(ones, kernel_2x2, np.zeros(1), {"stride": 1, "pad": 1})
print("5x5 input, 2x2 kernel, pad 1:", out_6x6.shape[2:])
print(out_6x6[0, 0])
out_strided, _ = conv_forward_naive(ones, kernel_2x2, np.zeros(1), {"stride": (3, 1), "pad": 1})
print("same with stride (3, 1):", out_strided.shape[2:])
print(out_strided[0, 0])
assert conv_output_size(5, 2, stride=1, pad=1) == (6, 6)
assert conv_output_size(5, 2, stride=(3, 1), pad=1) == (2, 6) == out_strided.shape[2:]
assert np.array_equal(out_strided[0, 0], out_6x6[0, 0, ::3])   # rows 0 and 3 of the 6x6

# %% [markdown]
# A window larger than the padded input has no position at all; that is a bug in the
# network's design, and the function says so instead of returning a size of zero:

# %%
try:
    conv_output_size((4, 4), 7, pad=1)
except ValueError as error:
    print("ValueError:", error)

# %% [markdown]
# ## 3. Parameter count
#
# Each of the `F` filters has one weight for every input channel and window position,
# `C * HH * WW` weights, plus one bias. The layer therefore learns
#
# $$F \cdot (C \cdot HH \cdot WW + 1)$$
#
# numbers. Note what is *missing* from this count: the image size. The same filters slide
# over every position, so a convolution on a 1000x1000 image has exactly as many
# parameters as one on a 10x10 image (weight sharing). A fully connected layer mapping
# the same input to the same output would need one weight per (input, output) pair.

# %%
def param_count(in_channels, out_channels, kernel_h, kernel_w, bias=True):
    return out_channels * (in_channels * kernel_h * kernel_w + (1 if bias else 0))


assert param_count(3, 16, 3, 3) == conv_param_count(3, 16, 3) == 448
assert param_count(3, 16, 3, 3, bias=False) == conv_param_count(3, 16, (3, 3), bias=False)
conv = conv_param_count(3, 16, 3)
dense = (32 * 32 * 3) * (32 * 32 * 16) + 32 * 32 * 16
print(f"3x3 conv, 3 -> 16 channels on 32x32 (pad 1): {conv:,} parameters")
print(f"fully connected layer with the same input and output sizes: {dense:,} parameters")

# %% [markdown]
# ## 4. Why convolutions?
#
# An image of 224x224x3 has 150,528 numbers. A fully connected layer treats them as an
# unordered list: every output is connected to every input, with its own weight. A
# convolutional layer builds in three assumptions about images instead:
#
# * **Locality.** An output depends only on a small window of the input (3x3 here): what
#   a pixel means depends mostly on its neighbours. Far-away pixels are combined only by
#   later layers, whose windows cover more and more of the image.
# * **Weight sharing.** The same filter is used at every position: a detector of, say, a
#   vertical edge is useful everywhere in the image, so it is learned once.
# * **Translation equivariance.** It follows from weight sharing: shift the input and the
#   output shifts by the same amount (with stride 1, away from the borders). A pattern is
#   detected wherever it appears. Pooling then adds a little *invariance*: a shift of
#   a pixel or two often leaves the pooled maximum unchanged.
#
# All three are easy to check on the layer itself. First locality: change one input pixel
# and see which outputs change.

# %%
rng = np.random.default_rng(1)
w_demo = rng.standard_normal((2, 1, 3, 3))
b_demo = np.zeros(2)
same = {"stride": 1, "pad": 1}
x_demo = rng.standard_normal((1, 1, 8, 8))
out_before, _ = conv_forward_naive(x_demo, w_demo, b_demo, same)
x_poked = x_demo.copy()
x_poked[0, 0, 5, 2] += 1.0
out_after, _ = conv_forward_naive(x_poked, w_demo, b_demo, same)
changed = sorted(map(tuple, np.argwhere(~np.isclose(out_after, out_before))[:, 2:].tolist()))
print("input pixel (5, 2) changed; outputs changed at (row, col):", sorted(set(changed)))
assert set(changed) == {(r, c) for r in (4, 5, 6) for c in (1, 2, 3)}

# %% [markdown]
# Only the 3x3 block of outputs whose windows contain the pixel changed (for each of the
# two filters). Now equivariance: a pattern on a blank 12x12 image, shifted by 2 rows and 3
# columns. The output of the shifted image is the output of the original, shifted the
# same way:

# %%
pattern = np.zeros((1, 1, 12, 12))
pattern[0, 0, 3:7, 2:6] = rng.standard_normal((4, 4))
shifted = np.roll(pattern, (2, 3), axis=(2, 3))
out_pattern, _ = conv_forward_naive(pattern, w_demo, b_demo, same)
out_shifted, _ = conv_forward_naive(shifted, w_demo, b_demo, same)
assert np.allclose(out_shifted, np.roll(out_pattern, (2, 3), axis=(2, 3)))
print("conv(shift(x)) == shift(conv(x)): True")

fig, axes = plt.subplots(1, 4, figsize=(11, 3))
for ax, image, title in zip(axes, [pattern[0, 0], out_pattern[0, 0], shifted[0, 0],
                                   out_shifted[0, 0]],
                            ["x", "conv(x), filter 0", "x shifted by (2, 3)",
                             "conv(shifted x): shifted too"]):
    ax.imshow(image, cmap="RdBu_r", vmin=-4, vmax=4)
    ax.set_title(title, fontsize=10)
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# Weight sharing is what keeps the parameter count small. A 3x3 convolution from 3 to 16
# channels (padding 1, so the output has the input's size) against a fully connected
# layer with the same input and output sizes, for a few image sizes:

# %%
print(f"{'image':>9} {'conv 3x3, 3 -> 16':>18} {'fully connected':>22} {'ratio':>14}")
for size in (28, 32, 224):
    conv = conv_param_count(3, 16, 3)
    inputs, outputs = size * size * 3, size * size * 16
    dense = inputs * outputs + outputs
    print(f"{size:>4}x{size:<4} {conv:>18,} {dense:>22,} {dense / conv:>14,.0f}")
assert conv_param_count(3, 16, 3) == 448

# %% [markdown]
# The convolution has 448 parameters at every size; the fully connected layer, more than
# 120 billion at 224x224 (480 GB in float32), which could not even be stored, let alone
# learned from a dataset of a million images. The price of the convolution's assumptions
# is that it cannot learn what they exclude (a filter that does different things in
# different places); for images that is rarely a loss.
#
# ## 5. Worked cases
#
# | input (H x W x C) | filter | filters | stride | padding |
# |---|---|---|---|---|
# | 144 x 144 x 3 | 3 x 3 | 6 | 1 | 0 |
# | 60 x 60 x 24 | 3 x 3 | 48 | 1 | 0 |
# | 20 x 20 x 10 | 3 x 3 | 20 | 2 | 0 |
#
# For the first one by hand: `(144 + 0 - 3) // 1 + 1 = 142` per axis, so the output is
# 142 x 142 x 6; each filter has `3 * 3 * 3 = 27` weights and a bias, and `6 * 28 = 168`.
# The third one has a stride that does not fit: `(20 - 3) / 2 = 8.5`, floored to 8, plus
# one gives 9 (the last input row and column are never covered).

# %%
cases = [
    # (H, W, C), kernel, filters, stride, pad
    ((144, 144, 3), 3, 6, 1, 0),
    ((60, 60, 24), 3, 48, 1, 0),
    ((20, 20, 10), 3, 20, 2, 0),
]
results = []
for (height, width, channels), kernel, filters, stride, pad in cases:
    out_h, out_w = conv_output_size((height, width), kernel, stride, pad)
    params = conv_param_count(channels, filters, kernel)
    results.append(((out_h, out_w, filters), params))
    print(f"{height}x{width}x{channels}, {kernel}x{kernel} filter, {filters} filters, "
          f"stride {stride}, pad {pad} -> {out_h}x{out_w}x{filters}, {params:,} parameters")

assert results == [((142, 142, 6), 168), ((58, 58, 48), 10_416), ((9, 9, 20), 1_820)]

# %% [markdown]
# The formula is only useful if the layer agrees with it. Run the actual (loop-based)
# convolution on one random image of each case (channels first, as the layer expects) and
# compare the shape of what comes out, and count the entries of `w` and `b`:

# %%
rng = np.random.default_rng(0)
for ((height, width, channels), kernel, filters, stride, pad), (expected_shape, params) in zip(
        cases, results):
    x = rng.standard_normal((1, channels, height, width))
    w = rng.standard_normal((filters, channels, kernel, kernel))
    b = np.zeros(filters)
    out, _ = conv_forward_naive(x, w, b, {"stride": stride, "pad": pad})
    out_hwc = out[0].transpose(1, 2, 0).shape
    print(f"x {x.shape} -> out {out.shape}, i.e. {out_hwc} as H x W x C; w.size + b.size = "
          f"{w.size + b.size:,}")
    assert out_hwc == expected_shape
    assert w.size + b.size == params

# %% [markdown]
# ## Summary
#
# * Pad only the spatial axes: `np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))`.
# * Per axis, `out = (in + 2P - K) // S + 1`; a stride that does not fit drops the last
#   rows or columns.
# * A convolution has `F * (C * HH * WW + 1)` parameters, independent of the image size.
# * Locality, weight sharing and translation equivariance are what a convolution assumes
#   about images; they cut the parameters of a layer by a factor that grows with the
#   square of the number of pixels.
