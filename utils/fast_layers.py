"""Fast convolution and pooling layers, vectorized with NumPy only (no compiled code).

Every function has the signature, the shapes and the results of its naive counterpart in
``nndl.conv_layers`` (``conv_forward_fast`` computes what ``conv_forward_naive`` computes,
and so on), for every configuration the naive versions accept: non-square kernels and
pooling windows, any stride >= 1 and pad >= 0 (an int, or a (height, width) pair), pooling
windows that overlap or do not tile the input. Only the caches differ: they hold what the
fast backward passes need, so a fast forward must be paired with the fast backward.

How the convolution is made fast
--------------------------------
The work of a convolution is a matrix product. "im2col" copies every window of the input
into the columns of a matrix ``cols`` of shape (C * HH * WW, number of output positions);
then ``w.reshape(F, -1) @ cols`` gives all outputs at once, and the backward pass is two
more products with the same matrices (BLAS does the arithmetic). A row of ones appended
to ``cols`` multiplies the bias, so the bias rides along in the same products. Two layout
choices keep the copying cheap:

- Channels first. The input is stored channel-major, (C, N, H, W), so each product is a
  single large GEMM over all examples at once.
- Shifted rows. Keep, of each zero-padded image, the G = W_out + WW - 1 columns that the
  windows reach, and flatten its rows into one line. Kernel offset (i, j) meets, at output
  (r, q), the input at ``(i * G + j) + (r * G + q)``: the same shift ``i * G + j`` for
  every output, so the block of ``cols`` for offset (i, j) is one contiguous slice of the
  line, copied in one go. The price: outputs are computed on rows G wide instead of
  W_out wide; the WW - 1 extra columns of each row are dropped in the forward pass and get
  zero gradient in the backward pass. With a stride s > 1, the padded input is first split
  into s * s "phases" (every s-th row and column, starting at each offset); offset (i, j)
  then reads one phase with a stride of 1, and the same trick applies inside it.

Pooling loops over the pool_height * pool_width offsets inside the window, each one a
strided view of the whole input, so any window, stride and overlap works.
"""
import numpy as np

from nndl.conv_layers import _check_conv_inputs, _check_pool_inputs


# Working-set size for col2im: a few MiB stay in the CPU cache between the matrix product
# that computes the window gradients and the additions that consume them.
_CHUNK_BYTES = 3 * 2 ** 20


def _output_size(input_size, window, stride, pad):
    """Number of window positions along one axis: (input + 2 * pad - window) // stride + 1."""
    return (input_size + 2 * pad - window) // stride + 1


# ----------------------------------------------------------------------------------------
# Convolution
# ----------------------------------------------------------------------------------------

class _ConvGeometry:
    """Sizes shared by the forward and backward pass of one convolution.

    The padded input is split into stride_h * stride_w phases; phase (a, b) holds padded
    rows a, a + stride_h, ... and columns b, b + stride_w, ..., as a grid of
    grid_h x grid_w values. Outputs are computed on rows grid_w wide (the first out_w
    columns are the real ones), and the grid has one spare row so that every shifted slice
    of length out_h * grid_w stays inside it.
    """

    def __init__(self, x_shape, w_shape, stride, pad):
        self.num_examples, self.channels, self.height, self.width = x_shape
        self.filters, _, self.kernel_h, self.kernel_w = w_shape
        self.stride_h, self.stride_w = stride
        self.pad_h, self.pad_w = pad
        self.out_h = _output_size(self.height, self.kernel_h, self.stride_h, self.pad_h)
        self.out_w = _output_size(self.width, self.kernel_w, self.stride_w, self.pad_w)
        self.grid_h = self.out_h + (self.kernel_h - 1) // self.stride_h + 1
        self.grid_w = self.out_w + (self.kernel_w - 1) // self.stride_w
        # Outputs per example and filter, the extra columns of the grid included.
        self.line = self.out_h * self.grid_w

    def kernel_offsets(self):
        """Yield (i, j, phase_row, phase_col, shift) for every kernel offset, row-major.

        Kernel offset (i, j) reads phase (i % stride_h, j % stride_w), from the flat index
        ``shift`` on: the window of output (r, q) is at ``shift + r * grid_w + q``.
        """
        for i in range(self.kernel_h):
            for j in range(self.kernel_w):
                shift = (i // self.stride_h) * self.grid_w + j // self.stride_w
                yield i, j, i % self.stride_h, j % self.stride_w, shift

    def phase_slices(self):
        """Yield, for each phase (a, b), the index pairing it with the input.

        Yields (a, b, input_index, phase_index): x[input_index] (shape (N, C, h, w)) lands,
        transposed to (C, N, h, w), at phases[a, b][phase_index] of the (C, N, grid_h,
        grid_w) phase grid. Input columns to the right of the last window (there are some
        when the stride does not tile the input) have no place in the grid and are left out.
        """
        for a in range(self.stride_h):
            rows, grid_rows = self._axis_slices(a, self.height, self.stride_h, self.pad_h,
                                                self.grid_h)
            for b in range(self.stride_w):
                cols, grid_cols = self._axis_slices(b, self.width, self.stride_w, self.pad_w,
                                                    self.grid_w)
                yield (a, b, (slice(None), slice(None), rows, cols),
                       (slice(None), slice(None), grid_rows, grid_cols))

    @staticmethod
    def _axis_slices(phase, size, stride, pad, grid_size):
        """Along one axis: the input positions of a phase, and where they sit in its grid.

        Input position y is padded position y + pad, which belongs to phase
        (y + pad) % stride, at grid position (y + pad) // stride if that is < grid_size.
        """
        first = (phase - pad) % stride               # first input position of the phase
        end = min(size, stride * grid_size - pad)    # input positions past the grid are unused
        count = len(range(first, end, stride))
        grid_first = (first + pad) // stride
        return slice(first, end, stride), slice(grid_first, grid_first + count)

    def to_phases(self, x, dtype):
        """Pad x (N, C, H, W) and split it into phases, shape (s_h, s_w, C, N, grid_h * grid_w)."""
        phases = np.zeros((self.stride_h, self.stride_w, self.channels, self.num_examples,
                           self.grid_h, self.grid_w), dtype)
        for a, b, input_index, phase_index in self.phase_slices():
            phases[a, b][phase_index] = x[input_index].transpose(1, 0, 2, 3)
        return phases.reshape(self.stride_h, self.stride_w, self.channels, self.num_examples, -1)

    def from_phases(self, phases):
        """Inverse of to_phases: phases (s_h, s_w, C, N, grid_h * grid_w) -> (N, C, H, W)."""
        phases = phases.reshape(self.stride_h, self.stride_w, self.channels, self.num_examples,
                                self.grid_h, self.grid_w)
        x = np.zeros((self.num_examples, self.channels, self.height, self.width), phases.dtype)
        for a, b, input_index, phase_index in self.phase_slices():
            x[input_index] = phases[a, b][phase_index].transpose(1, 0, 2, 3)
        return x


def conv_forward_fast(x, w, b, conv_param):
    """Forward pass of a convolutional layer, as one matrix product (im2col).

    Inputs:
    - x: input data, shape (N, C, H, W).
    - w: filter weights, shape (F, C, HH, WW).
    - b: biases, shape (F,).
    - conv_param: dict with 'stride' (int >= 1 or (height, width) pair, default 1) and
      'pad' (int >= 0 or pair, default 0), as for conv_forward_naive.

    Returns a tuple of:
    - out: output data, shape (N, F, H_out, W_out), with
        H_out = (H + 2 * pad_h - HH) // stride_h + 1, W_out likewise; same dtype as
        conv_forward_naive (float32 inputs give float32).
    - cache: (x, w, b, conv_param, cols). cols, of shape (C * HH * WW + 1, N * H_out * G),
      holds every window of the input: row (c, i, j) (row-major) at column (n, r, q) is
      the padded input at channel c, row r * stride_h + i and column q * stride_w + j of
      example n. G >= W_out is the row width of the output grid (see the module docstring);
      columns q >= W_out are not outputs. The last row is all ones: it multiplies the bias,
      so that ``[w | b] @ cols`` is the whole layer (the "bias trick").

    Raises ValueError on inconsistent shapes or a bad stride or pad.
    """
    stride, pad = _check_conv_inputs(x, w, b, conv_param)
    dtype = np.result_type(x, w, b)
    geometry = _ConvGeometry(x.shape, w.shape, stride, pad)
    phases = geometry.to_phases(x, dtype)

    kernel_size = geometry.channels * geometry.kernel_h * geometry.kernel_w
    cols = np.empty((kernel_size + 1, geometry.num_examples, geometry.line), dtype)
    windows = cols[:kernel_size].reshape(geometry.channels, geometry.kernel_h,
                                         geometry.kernel_w, geometry.num_examples, -1)
    for i, j, phase_row, phase_col, shift in geometry.kernel_offsets():
        windows[:, i, j] = phases[phase_row, phase_col, :, :, shift:shift + geometry.line]
    cols[kernel_size] = 1
    cols = cols.reshape(kernel_size + 1, -1)

    weights_and_bias = np.concatenate([w.reshape(geometry.filters, -1), b[:, None]], axis=1)
    out_grid = (weights_and_bias.astype(dtype, copy=False) @ cols).reshape(
        geometry.filters, geometry.num_examples, geometry.out_h, geometry.grid_w)
    out = np.ascontiguousarray(out_grid[..., :geometry.out_w].transpose(1, 0, 2, 3))
    cache = (x, w, b, conv_param, cols)
    return out, cache


def conv_backward_fast(dout, cache):
    """Backward pass of conv_forward_fast.

    Inputs:
    - dout: upstream gradient, shape (N, F, H_out, W_out).
    - cache: (x, w, b, conv_param, cols) from conv_forward_fast.

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, C, H, W).
    - dw: gradient with respect to w, shape (F, C, HH, WW).
    - db: gradient with respect to b, shape (F,).

    Two matrix products with the cached cols do the work: dout @ cols.T gives dw and db
    (the bias row of cols is all ones, so db is the sum of dout), and the gradient of the
    windows, w.T @ dout, is added back to the inputs each window came from (col2im).
    """
    x, w, b, conv_param, cols = cache
    stride, pad = _check_conv_inputs(x, w, b, conv_param)
    geometry = _ConvGeometry(x.shape, w.shape, stride, pad)
    expected = (geometry.num_examples, geometry.filters, geometry.out_h, geometry.out_w)
    if np.shape(dout) != expected:
        raise ValueError(f"conv_backward_fast: dout must have the output's shape {expected}, "
                         f"got {np.shape(dout)}")
    dtype = np.result_type(cols, dout)

    # dout on the output grid, filters first; the extra columns get zero gradient.
    dout_grid = np.zeros((geometry.filters, geometry.num_examples, geometry.out_h,
                          geometry.grid_w), dtype)
    dout_grid[..., :geometry.out_w] = dout.transpose(1, 0, 2, 3)
    dout_grid = dout_grid.reshape(geometry.filters, -1)

    dw_and_db = dout_grid @ cols.T
    dw = dw_and_db[:, :-1].reshape(w.shape)
    db = dw_and_db[:, -1].copy()

    # col2im: the gradient of the windows, w.T @ dout, goes back to the inputs each window
    # came from. It is computed for a few examples at a time, so that it is still in the CPU
    # cache when it is added up.
    w_columns = w.reshape(geometry.filters, -1).T.astype(dtype, copy=False)
    dphases = np.zeros((geometry.stride_h, geometry.stride_w, geometry.channels,
                        geometry.num_examples, geometry.grid_h * geometry.grid_w), dtype)
    line = geometry.line
    chunk = max(1, _CHUNK_BYTES // (w_columns.shape[0] * line * dphases.itemsize))
    for start in range(0, geometry.num_examples, chunk):
        stop = min(start + chunk, geometry.num_examples)
        dwindows = (w_columns @ dout_grid[:, start * line:stop * line]).reshape(
            geometry.channels, geometry.kernel_h, geometry.kernel_w, stop - start, line)
        dphases_chunk = dphases[:, :, :, start:stop]
        for i, j, phase_row, phase_col, shift in geometry.kernel_offsets():
            dphases_chunk[phase_row, phase_col, :, :, shift:shift + line] += dwindows[:, i, j]
    dx = geometry.from_phases(dphases)
    return dx, dw, db


# ----------------------------------------------------------------------------------------
# Pooling
# ----------------------------------------------------------------------------------------

def _pool_geometry(x, pool_param):
    """Validate a pooling layer's inputs; return (window, stride, (out_h, out_w))."""
    (pool_h, pool_w), (stride_h, stride_w) = _check_pool_inputs(x, pool_param)
    out_hw = (_output_size(x.shape[2], pool_h, stride_h, 0),
              _output_size(x.shape[3], pool_w, stride_w, 0))
    return (pool_h, pool_w), (stride_h, stride_w), out_hw


def _window_offsets(window, stride, out_hw):
    """Yield, row-major over the offsets (i, j) inside the window, the index that picks
    input[top + i, left + j] of every window (top, left) at once: a strided view."""
    (pool_h, pool_w), (stride_h, stride_w), (out_h, out_w) = window, stride, out_hw
    for i in range(pool_h):
        for j in range(pool_w):
            yield (slice(None), slice(None),
                   slice(i, i + stride_h * (out_h - 1) + 1, stride_h),
                   slice(j, j + stride_w * (out_w - 1) + 1, stride_w))


def max_pool_forward_fast(x, pool_param):
    """Forward pass of a max-pooling layer, one vectorized step per offset in the window.

    Inputs:
    - x: input data, shape (N, C, H, W).
    - pool_param: dict with 'pool_height', 'pool_width' (ints >= 1) and 'stride' (int >= 1
      or (height, width) pair), as for max_pool_forward_naive.

    Returns a tuple of:
    - out: shape (N, C, H_out, W_out), H_out = (H - pool_height) // stride_h + 1, W_out
      likewise; dtype of x.
    - cache: (x, pool_param, argmax), where argmax (N, C, H_out, W_out), a small unsigned
      integer array, holds the row-major position inside its window of the maximum of
      each window (the first one if several inputs tie).
    """
    window, stride, out_hw = _pool_geometry(x, pool_param)
    offsets = _window_offsets(window, stride, out_hw)
    out = x[next(offsets)].copy()
    argmax = np.zeros(out.shape, np.min_scalar_type(window[0] * window[1] - 1))
    for position, index in enumerate(offsets, start=1):
        candidate = x[index]
        is_larger = candidate > out   # strictly: on ties the earlier position stays
        np.maximum(out, candidate, out=out)
        # argmax = position where is_larger, unchanged elsewhere (arithmetic beats masking).
        argmax += is_larger * (argmax.dtype.type(position) - argmax)
    cache = (x, pool_param, argmax)
    return out, cache


def max_pool_backward_fast(dout, cache):
    """Backward pass of max_pool_forward_fast.

    Inputs:
    - dout: upstream gradient, shape (N, C, H_out, W_out).
    - cache: (x, pool_param, argmax) from max_pool_forward_fast.

    Returns:
    - dx: gradient with respect to x, shape (N, C, H, W). Each window's gradient goes to its
      maximum; an input that is the maximum of several overlapping windows collects all
      of their gradients.
    """
    x, pool_param, argmax = cache
    window, stride, out_hw = _pool_geometry(x, pool_param)
    if np.shape(dout) != argmax.shape:
        raise ValueError(f"max_pool_backward_fast: dout must have the output's shape "
                         f"{argmax.shape}, got {np.shape(dout)}")
    dx = np.zeros(x.shape, np.result_type(x, dout))
    for position, index in enumerate(_window_offsets(window, stride, out_hw)):
        dx[index] += dout * (argmax == position)
    return dx


def avg_pool_forward_fast(x, pool_param):
    """Forward pass of an average-pooling layer, one vectorized step per offset in the window.

    Inputs:
    - x: input data, shape (N, C, H, W).
    - pool_param: dict with 'pool_height', 'pool_width' and 'stride', as for max pooling.

    Returns a tuple of:
    - out: shape (N, C, H_out, W_out), sizes as for max pooling; float32 for float32 (or
      smaller) input, else the dtype of x, as in avg_pool_forward_naive.
    - cache: (x, pool_param)
    """
    window, stride, out_hw = _pool_geometry(x, pool_param)
    out = np.zeros(x.shape[:2] + out_hw, np.result_type(x, np.float32))
    for index in _window_offsets(window, stride, out_hw):
        out += x[index]
    out /= window[0] * window[1]
    cache = (x, pool_param)
    return out, cache


def avg_pool_backward_fast(dout, cache):
    """Backward pass of avg_pool_forward_fast.

    Inputs:
    - dout: upstream gradient, shape (N, C, H_out, W_out).
    - cache: (x, pool_param) from avg_pool_forward_fast.

    Returns:
    - dx: gradient with respect to x, shape (N, C, H, W): every input of a window gets
      1 / (pool_height * pool_width) of the window's gradient, summed over the windows
      it belongs to.
    """
    x, pool_param = cache
    window, stride, out_hw = _pool_geometry(x, pool_param)
    if np.shape(dout) != x.shape[:2] + out_hw:
        raise ValueError(f"avg_pool_backward_fast: dout must have the output's shape "
                         f"{x.shape[:2] + out_hw}, got {np.shape(dout)}")
    dx = np.zeros(x.shape, np.result_type(dout, np.float32))
    share = dout / (window[0] * window[1])
    for index in _window_offsets(window, stride, out_hw):
        dx[index] += share
    return dx
