"""Fast convolution and pooling layers, vectorized with NumPy only (no compiled code).

Every function has the signature, the shapes and the results of its naive counterpart in
``nndl.conv_layers`` (``conv_forward_fast`` computes what ``conv_forward_naive`` computes,
and so on), for every configuration the naive versions accept: non-square kernels and
pooling windows, any stride >= 1 and pad >= 0 (an int, or a (height, width) pair), pooling
windows that overlap or do not tile the input. Only the caches differ: they hold what the
fast backward passes need, so a fast forward must be paired with the fast backward.
This module never uses ``nndl.conv_layers``: the provided layers work whatever the state
of your own file.

CS231n's names for its fast layers are aliases of the ones here, assigned at the end of
this module: ``conv_forward_im2col`` and ``conv_forward_strides`` are ``conv_forward_fast``
(``conv_backward_im2col``, ``conv_backward_strides``: ``conv_backward_fast``), and
``max_pool_forward_reshape`` and ``max_pool_forward_im2col`` are ``max_pool_forward_fast``
(the backward passes likewise). Unlike CS231n's, each of them accepts every window and
stride, and any forward may be paired with any backward of the same layer.

How the convolution is made fast
--------------------------------
The work of a convolution is a matrix product. "im2col" copies every window of the input
into the columns of a matrix ``cols`` of shape (C * HH * WW, number of output positions);
then ``w.reshape(F, -1) @ cols`` gives all outputs at once, and the backward pass is two
more products with the same matrices (BLAS does the arithmetic). A row of ones appended
to ``cols`` multiplies the bias, so the bias rides along in the same products. Two layout
choices keep the copying cheap:

- Channels first. The input is stored channel-major, (C, N, H, W), so that each product
  covers many examples at once (one large GEMM).
- Shifted rows. Keep, of each zero-padded image, the G = W_out + WW - 1 columns that the
  windows reach, and flatten its rows into one line. Kernel offset (i, j) meets, at output
  (r, q), the input at ``(i * G + j) + (r * G + q)``: the same shift ``i * G + j`` for
  every output, so the block of ``cols`` for offset (i, j) is one contiguous slice of the
  line. A strided view of the line (numpy.lib.stride_tricks.as_strided) shows all these
  slices at once, so the whole of ``cols`` is filled by one copy. The price: outputs are
  computed on rows G wide instead of W_out wide; the WW - 1 extra columns of each row are
  dropped in the forward pass and get zero gradient in the backward pass. With a stride
  s > 1, the padded input is first split into s * s "phases" (every s-th row and column,
  starting at each offset); offset (i, j) then reads one phase with a stride of 1, and
  the same trick applies inside it (one copy per phase).

``cols`` is C * HH * WW times larger than the input, so it is never built whole: the
examples are processed a few at a time, in chunks whose ``cols`` takes up to 8 MiB, and
the backward pass rebuilds each chunk's ``cols`` from the cached padded input, so the
caches hold little more than the input itself. The per-chunk arrays are scratch space,
reused from one call to the next (one set per thread) instead of being allocated anew.

When NumPy's BLAS may use several threads (OPENBLAS_NUM_THREADS and the like; threadpoolctl
reads and sets the count), the chunks are shared out to that many worker threads, each
running its matrix products on one BLAS thread, so that the copies run in parallel as well
as the arithmetic. A chunk's results do not depend on the thread that computes it, and the
chunks' shares of dw are added up in chunk order, so the results are the same on every run.

Pooling loops over the pool_height * pool_width offsets inside the window, each one a
strided view of the whole input, so any window, stride and overlap works.
"""
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np
from threadpoolctl import ThreadpoolController

from utils.conv_checks import (check_conv_inputs, check_pool_inputs,
                               check_spatial_batchnorm_inputs)


# Largest size of the cols matrix of one chunk of examples: small enough that a layer's
# scratch space stays small, large enough that each matrix product is big enough for BLAS
# and the per-chunk overhead small. Of 1, 2, 4, 8, 16 and 32 MiB, 8 was the fastest or
# within a few per cent of it on the cases of benchmarks/bench_conv.py, with 1 and 2
# threads, except one (docs/benchmarks.md).
_CHUNK_BYTES = 8 * 2 ** 20


_workspace = threading.local()


def _scratch(name, shape, dtype):
    """A scratch array of the given shape and dtype, reused from call to call.

    Its contents are whatever the last user left. Fresh arrays of a few MiB cost the
    operating system a page fault per 4 KiB the first time they are written, on every call;
    reusing them saves that (up to half the time of a small layer, measured on a 2-core
    virtual machine). Each thread has its own arrays, and each name one array, the largest asked
    for so far: a few MiB each.
    """
    buffers = _workspace.__dict__.setdefault('buffers', {})
    size = int(np.prod(shape))
    key = (name, np.dtype(dtype))
    if key not in buffers or buffers[key].size < size:
        buffers[key] = np.empty(size, dtype)
    return buffers[key][:size].reshape(shape)


# Chunks run on as many threads as NumPy's BLAS may use (OPENBLAS_NUM_THREADS and the like),
# each thread with a one-threaded BLAS. The BLAS alone would run only the matrix products
# on several cores; this way the copies of im2col and col2im, which NumPy does on one core,
# run in parallel too. One call at a time runs threaded; a call made meanwhile (from
# another thread) runs its chunks one after the other.
_blas = None                    # threadpoolctl's handle on NumPy's BLAS, made on first use
_blas_threads_set = None        # the user's BLAS thread count while a threaded call runs
_pool = None
_pool_size = 0
_threaded_call = threading.Lock()


def _blas_controller():
    """threadpoolctl's handle on NumPy's BLAS (made on first use)."""
    global _blas
    if _blas is None:
        _blas = ThreadpoolController().select(user_api='blas')
    return _blas


def _blas_threads():
    """Number of threads the user lets NumPy's BLAS use (not the one-thread limit that a
    threaded call sets for the time it runs, so that calls made meanwhile split their
    work the same way and get the same results)."""
    if _blas_threads_set is not None:
        return _blas_threads_set
    return max((library.num_threads for library in _blas_controller().lib_controllers),
               default=1)


def _run_chunks(task, chunks, workers):
    """[task(start, stop) for (start, stop) in chunks], on up to ``workers`` threads.

    Results come back in the order of the chunks, whatever the threads did first, so that
    sums over chunks are always added up in the same order (the same rounding on every run).
    """
    global _pool, _pool_size, _blas_threads_set
    if workers < 2 or len(chunks) < 2 or not _threaded_call.acquire(blocking=False):
        return [task(start, stop) for start, stop in chunks]
    try:
        if _pool is None or _pool_size < workers - 1:
            _pool = ThreadPoolExecutor(max_workers=workers - 1, thread_name_prefix='fast_layers')
            _pool_size = workers - 1
        _blas_threads_set = _blas_threads()
        try:
            # Worker k does chunks k, k + workers, k + 2 * workers, ...; the calling thread
            # is worker 0, the pool's threads the others.
            groups = [chunks[first::workers] for first in range(workers)]

            def run_group(group):
                return [task(start, stop) for start, stop in group]

            with _blas_controller().limit(limits=1):
                others = [_pool.submit(run_group, group) for group in groups[1:]]
                try:
                    group_results = [run_group(groups[0])]
                finally:
                    wait(others)      # even if worker 0 failed: nothing runs on afterwards
                group_results += [future.result() for future in others]
            results = [None] * len(chunks)
            for first, group_result in enumerate(group_results):
                results[first::workers] = group_result
            return results
        finally:
            _blas_threads_set = None
    finally:
        _threaded_call.release()


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
        """Yield, for each phase (a, b), the slices pairing it with the input.

        Yields (a, b, (rows, cols), (grid_rows, grid_cols)): the input values
        x[:, :, rows, cols] land at [:, :, grid_rows, grid_cols] of the (grid_h, grid_w)
        grid of phase (a, b). Input columns to the right of the last window (there are some
        when the stride does not tile the input) have no place in the grid and are left out.
        """
        for a in range(self.stride_h):
            rows, grid_rows = self._axis_slices(a, self.height, self.stride_h, self.pad_h,
                                                self.grid_h)
            for b in range(self.stride_w):
                cols, grid_cols = self._axis_slices(b, self.width, self.stride_w, self.pad_w,
                                                    self.grid_w)
                yield a, b, (rows, cols), (grid_rows, grid_cols)

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

    def zero_phases(self, dtype):
        """Zeros of the shape of the phases, (s_h, s_w, C, N, grid_h * grid_w), for to_phases
        to fill (the padding stays zero)."""
        return np.zeros((self.stride_h, self.stride_w, self.channels, self.num_examples,
                         self.grid_h * self.grid_w), dtype)

    def to_phases(self, x, phases, start, stop):
        """Copy examples start:stop of x (N, C, H, W) into their places in phases (zeros
        around them: the padding), channels first, split by phase."""
        grids = phases.reshape(phases.shape[:4] + (self.grid_h, self.grid_w))
        for a, b, (rows, cols), (grid_rows, grid_cols) in self.phase_slices():
            grids[a, b, :, start:stop, grid_rows, grid_cols] = (
                x[start:stop, :, rows, cols].transpose(1, 0, 2, 3))

    def example_chunks(self, itemsize, workers=1):
        """(start, stop) ranges of examples whose cols take at most about _CHUNK_BYTES each.

        With several workers, the number of chunks is a multiple of ``workers`` and their
        sizes differ by at most one example, so that the threads get equal shares.
        """
        per_example = (self.channels * self.kernel_h * self.kernel_w + 1) * self.line * itemsize
        largest = max(1, _CHUNK_BYTES // per_example)
        count = -(-self.num_examples // largest)           # ceiling division
        if workers > 1:
            count = min(self.num_examples, -(-count // workers) * workers)
        bounds = [self.num_examples * k // count for k in range(count + 1)]
        return list(zip(bounds[:-1], bounds[1:]))

    def im2col(self, phases, start, stop):
        """The cols matrix of examples start:stop (a scratch array, valid until the next call).

        Shape (C * HH * WW + 1, (stop - start) * line): row (c, i, j) holds the input that
        each output position meets at channel c and kernel offset (i, j); the last row is
        all ones, for the bias.
        """
        kernel_size = self.channels * self.kernel_h * self.kernel_w
        count = stop - start
        cols = _scratch('cols', (kernel_size + 1, count * self.line), phases.dtype)
        windows = cols[:kernel_size].reshape(self.channels, self.kernel_h, self.kernel_w,
                                             count, self.line)
        # The kernel offsets (i, j) = (a + s_h * k, b + s_w * l) all read phase (a, b), from
        # the shift k * grid_w + l on. A strided view of the phase presents all of their
        # windows at once, as an array (C, rows k, columns l, count, line), whose elements
        # overlap in memory; one copy per phase then fills their rows of cols.
        for a in range(self.stride_h):
            for b in range(self.stride_w):
                phase = phases[a, b, :, start:stop]           # (C, count, grid_h * grid_w)
                channel_step, example_step, step = phase.strides
                shifted = np.lib.stride_tricks.as_strided(
                    phase, writeable=False,
                    shape=(self.channels, len(range(a, self.kernel_h, self.stride_h)),
                           len(range(b, self.kernel_w, self.stride_w)), count, self.line),
                    strides=(channel_step, self.grid_w * step, step, example_step, step))
                windows[:, a::self.stride_h, b::self.stride_w] = shifted
        cols[kernel_size] = 1
        return cols

    def grid_to_output(self, out_grid, out, start):
        """Copy a chunk's outputs, out_grid (F, count * line) as the forward product gives
        them, to out[start:start + count] (out: (N, F, H_out, W_out)), dropping the extra
        columns of the grid."""
        count = out_grid.shape[1] // self.line
        grid = out_grid.reshape(self.filters, count, self.out_h, self.grid_w)
        out[start:start + count] = grid[..., :self.out_w].transpose(1, 0, 2, 3)

    def output_to_grid(self, dout, start, stop, dtype):
        """Inverse of grid_to_output for the gradient: dout[start:stop] (of shape
        (N, F, H_out, W_out)) as a scratch array (F, count * line), filters first, with zero
        gradient in the extra columns of the grid."""
        grid = _scratch('dout_grid', (self.filters, stop - start, self.out_h, self.grid_w), dtype)
        grid[..., :self.out_w] = dout[start:stop].transpose(1, 0, 2, 3)
        grid[..., self.out_w:] = 0
        return grid.reshape(self.filters, -1)

    def col2im(self, dwindows, phases_shape):
        """Inverse of im2col for the gradient: add each window's gradient back to the
        inputs it came from.

        dwindows: (C * HH * WW, count * line), the gradient of the rows of cols (without
        the bias row). Returns the gradient of the phases of the chunk, a scratch array of
        shape (s_h, s_w, C, count, grid_h * grid_w) (phases_shape with count examples).
        """
        count = dwindows.shape[1] // self.line
        dwindows = dwindows.reshape(self.channels, self.kernel_h, self.kernel_w, count,
                                    self.line)
        dphases = _scratch('dphases', phases_shape[:3] + (count, phases_shape[4]),
                           dwindows.dtype)
        dphases.fill(0)
        for i, j, phase_row, phase_col, shift in self.kernel_offsets():
            dphases[phase_row, phase_col, :, :, shift:shift + self.line] += dwindows[:, i, j]
        return dphases

    def from_phases(self, dphases, dx, start):
        """Inverse of to_phases: dphases (s_h, s_w, C, count, grid_h * grid_w), the gradient
        of the phases of examples start:start + count, goes to dx[start:start + count]
        (dx: (N, C, H, W); its entries that no window reads are left untouched)."""
        count = dphases.shape[3]
        grids = dphases.reshape(dphases.shape[:4] + (self.grid_h, self.grid_w))
        for a, b, (rows, cols), (grid_rows, grid_cols) in self.phase_slices():
            dx[start:start + count, :, rows, cols] = (
                grids[a, b, :, :, grid_rows, grid_cols].transpose(1, 0, 2, 3))


def conv_forward_fast(x, w, b, conv_param):
    """Forward pass of a convolutional layer, as matrix products (im2col).

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
    - cache: (x, w, b, conv_param, phases), where phases, of shape
      (stride_h, stride_w, C, N, G_h * G_w), is the zero-padded input, channels first,
      split by stride phase (see the module docstring); about the size of x.

    Raises ValueError on inconsistent shapes or a bad stride or pad.
    """
    stride, pad = check_conv_inputs(x, w, b, conv_param)
    dtype = np.result_type(x, w, b)
    geometry = _ConvGeometry(x.shape, w.shape, stride, pad)
    phases = geometry.zero_phases(dtype)
    # The "bias trick": [w | b] @ [cols; ones] = w @ cols + b.
    weights_and_bias = np.concatenate([w.reshape(geometry.filters, -1), b[:, None]],
                                      axis=1).astype(dtype, copy=False)
    out = np.empty((geometry.num_examples, geometry.filters, geometry.out_h, geometry.out_w),
                   dtype)

    def forward_chunk(start, stop):
        geometry.to_phases(x, phases, start, stop)
        cols = geometry.im2col(phases, start, stop)
        out_grid = np.matmul(weights_and_bias, cols,
                             out=_scratch('out_grid', (geometry.filters, cols.shape[1]), dtype))
        geometry.grid_to_output(out_grid, out, start)

    workers = _blas_threads()
    _run_chunks(forward_chunk, geometry.example_chunks(out.itemsize, workers), workers)
    cache = (x, w, b, conv_param, phases)
    return out, cache


def conv_backward_fast(dout, cache):
    """Backward pass of conv_forward_fast.

    Inputs:
    - dout: upstream gradient, shape (N, F, H_out, W_out).
    - cache: (x, w, b, conv_param, phases) from conv_forward_fast.

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, C, H, W).
    - dw: gradient with respect to w, shape (F, C, HH, WW).
    - db: gradient with respect to b, shape (F,).

    For each chunk of examples, two matrix products with the chunk's cols do the work:
    dout @ cols.T adds the chunk's share of dw and db (the bias row of cols is all ones,
    so db is the sum of dout), and the gradient of the windows, w.T @ dout, is added back
    to the inputs each window came from (col2im).
    """
    x, w, b, conv_param, phases = cache
    stride, pad = check_conv_inputs(x, w, b, conv_param)
    geometry = _ConvGeometry(x.shape, w.shape, stride, pad)
    expected = (geometry.num_examples, geometry.filters, geometry.out_h, geometry.out_w)
    if np.shape(dout) != expected:
        raise ValueError(f"conv_backward_fast: dout must have the output's shape {expected}, "
                         f"got {np.shape(dout)}")
    dtype = np.result_type(phases, dout)
    kernel_size = geometry.channels * geometry.kernel_h * geometry.kernel_w
    line = geometry.line
    w_columns = w.reshape(geometry.filters, -1).T.astype(dtype, copy=False)

    dx = np.zeros(x.shape, dtype)

    def backward_chunk(start, stop):
        """Write dx[start:stop]; return the chunk's share of [dw | db], transposed."""
        count = stop - start
        cols = geometry.im2col(phases, start, stop)
        dout_grid = geometry.output_to_grid(dout, start, stop, dtype)
        # The chunk's [dw | db], transposed: in this orientation OpenBLAS ran the product
        # of the 3x3, 32 -> 64 case of benchmarks/bench_conv.py about a quarter faster.
        dw_and_db_part = cols @ dout_grid.T
        dwindows = np.matmul(w_columns, dout_grid,
                             out=_scratch('dwindows', (kernel_size, count * line), dtype))
        dphases = geometry.col2im(dwindows, phases.shape)
        geometry.from_phases(dphases, dx, start)
        return dw_and_db_part

    workers = _blas_threads()
    parts = _run_chunks(backward_chunk, geometry.example_chunks(dtype.itemsize, workers),
                        workers)
    dw_and_db = sum(parts[1:], parts[0]).T
    dw = dw_and_db[:, :-1].reshape(w.shape)
    db = dw_and_db[:, -1].copy()
    return dx, dw, db


# ----------------------------------------------------------------------------------------
# Pooling
# ----------------------------------------------------------------------------------------

def _pool_geometry(x, pool_param):
    """Validate a pooling layer's inputs; return (window, stride, (out_h, out_w))."""
    (pool_h, pool_w), (stride_h, stride_w) = check_pool_inputs(x, pool_param)
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


# ----------------------------------------------------------------------------------------
# Spatial batch normalization
# ----------------------------------------------------------------------------------------

def spatial_batchnorm_forward_fast(x, gamma, beta, bn_param):
    """Spatial batch normalization, with reductions over the (N, H, W) axes of each channel.

    Inputs:
    - x: input data, shape (N, C, H, W).
    - gamma, beta: per-channel scale and shift, shape (C,).
    - bn_param: dict with 'mode' ('train' or 'test', required), 'eps' (default 1e-5),
      'momentum' (default 0.9), 'running_mean' and 'running_var' (shape (C,); created as
      zeros and ones if absent, updated in place in 'train' mode), as for
      nndl.layers.batchnorm_forward.

    Returns a tuple of:
    - out: shape (N, C, H, W).
    - cache: (x_hat, gamma, inv_std) in 'train' mode, None in 'test' mode.
    """
    check_spatial_batchnorm_inputs(x, gamma, beta)
    mode = bn_param.get('mode')
    if mode not in ('train', 'test'):
        raise ValueError(f"bn_param['mode'] must be 'train' or 'test', got {mode!r}")
    eps = bn_param.get('eps', 1e-5)
    momentum = bn_param.get('momentum', 0.9)
    num_channels = x.shape[1]
    running_mean = bn_param.get('running_mean', np.zeros(num_channels, dtype=x.dtype))
    running_var = bn_param.get('running_var', np.ones(num_channels, dtype=x.dtype))
    per_channel = (1, num_channels, 1, 1)
    if mode == 'train':
        count = x.size // num_channels
        mean = x.mean(axis=(0, 2, 3))
        x_hat = x - mean.reshape(per_channel)
        var = np.einsum('nchw,nchw->c', x_hat, x_hat) / count
        inv_std = 1.0 / np.sqrt(var + eps)
        x_hat *= inv_std.reshape(per_channel)
        cache = (x_hat, gamma, inv_std)
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        inv_std = 1.0 / np.sqrt(running_var + eps)
        x_hat = (x - running_mean.reshape(per_channel)) * inv_std.reshape(per_channel)
        cache = None
    out = gamma.reshape(per_channel) * x_hat + beta.reshape(per_channel)
    bn_param['running_mean'] = running_mean
    bn_param['running_var'] = running_var
    return out, cache


def spatial_batchnorm_backward_fast(dout, cache):
    """Backward pass of spatial_batchnorm_forward_fast ('train' mode).

    Inputs:
    - dout: upstream gradient, shape (N, C, H, W).
    - cache: (x_hat, gamma, inv_std) from spatial_batchnorm_forward_fast.

    Returns a tuple of dx (N, C, H, W), dgamma (C,) and dbeta (C,).
    """
    if cache is None:
        raise ValueError("spatial_batchnorm_backward_fast needs a cache from a forward pass "
                         "in 'train' mode")
    x_hat, gamma, inv_std = cache
    if np.shape(dout) != x_hat.shape:
        raise ValueError(f"spatial_batchnorm_backward_fast: dout must have the output's shape "
                         f"{x_hat.shape}, got {np.shape(dout)}")
    num_channels = x_hat.shape[1]
    per_channel = (1, num_channels, 1, 1)
    count = x_hat.size // num_channels
    dbeta = dout.sum(axis=(0, 2, 3))
    dgamma = np.einsum('nchw,nchw->c', dout, x_hat)
    # Per channel, as in nndl.layers.batchnorm_backward over the N * H * W values:
    #     dx = gamma * inv_std * (dout - dbeta / M - x_hat * dgamma / M),  M = N * H * W.
    dx = x_hat * (dgamma / count).reshape(per_channel)
    np.subtract(dout, dx, out=dx)
    dx -= (dbeta / count).reshape(per_channel)
    dx *= (gamma * inv_std).reshape(per_channel)
    return dx, dgamma, dbeta


# ----------------------------------------------------------------------------------------
# CS231n's names (see the module docstring): aliases, one function behind each pair.
# ----------------------------------------------------------------------------------------

conv_forward_im2col = conv_forward_strides = conv_forward_fast
conv_backward_im2col = conv_backward_strides = conv_backward_fast
max_pool_forward_reshape = max_pool_forward_im2col = max_pool_forward_fast
max_pool_backward_reshape = max_pool_backward_im2col = max_pool_backward_fast
