"""Tests of utils.fast_layers: same results as the naive layers (and PyTorch), on every shape."""
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from nndl.conv_layers import (avg_pool_backward_naive, avg_pool_forward_naive,
                              conv_backward_naive, conv_forward_naive, max_pool_backward_naive,
                              max_pool_forward_naive, spatial_batchnorm_backward,
                              spatial_batchnorm_forward)
from utils import fast_layers
from utils.fast_layers import (avg_pool_backward_fast, avg_pool_forward_fast, conv_backward_fast,
                               conv_forward_fast, max_pool_backward_fast, max_pool_forward_fast,
                               spatial_batchnorm_backward_fast, spatial_batchnorm_forward_fast)
from utils.gradient_check import eval_numerical_gradient_array, rel_error

POOLS = {  # name: (naive forward, naive backward, fast forward, fast backward)
    'max': (max_pool_forward_naive, max_pool_backward_naive,
            max_pool_forward_fast, max_pool_backward_fast),
    'avg': (avg_pool_forward_naive, avg_pool_backward_naive,
            avg_pool_forward_fast, avg_pool_backward_fast),
}


def conv_inputs(x_shape, w_shape, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    return x, w, b


def max_abs_difference(first, second):
    assert np.shape(first) == np.shape(second)
    return float(np.max(np.abs(np.asarray(first) - np.asarray(second))))


def assert_conv_fast_matches_naive(x, w, b, conv_param):
    """Forward and backward of the fast conv equal the naive ones to 1e-10."""
    out_naive, cache_naive = conv_forward_naive(x, w, b, conv_param)
    out_fast, cache_fast = conv_forward_fast(x, w, b, conv_param)
    assert out_fast.shape == out_naive.shape
    assert max_abs_difference(out_fast, out_naive) < 1e-10
    dout = np.random.default_rng(1).standard_normal(out_naive.shape)
    grads_fast = conv_backward_fast(dout, cache_fast)
    grads_naive = conv_backward_naive(dout, cache_naive)
    for name, fast, naive in zip(('dx', 'dw', 'db'), grads_fast, grads_naive):
        assert max_abs_difference(fast, naive) < 1e-10, name


# ---------------------------------------------------------------------------------------
# Convolution: fast == naive on a grid of shapes
# ---------------------------------------------------------------------------------------

CONV_GRID = list(itertools.product(
    [(2, 3, 7, 9), (3, 2, 6, 5)],            # x: odd and even, non-square
    [(4, 3, 3), (2, 2, 4), (3, 5, 1)],       # (F, HH, WW): square and non-square kernels
    [1, 2, 3, (1, 2)],                       # stride
    [0, 1, 2, (2, 0)],                       # pad
))


@pytest.mark.parametrize('x_shape, kernel, stride, pad', CONV_GRID)
def test_conv_fast_matches_naive(x_shape, kernel, stride, pad):
    num_filters, kernel_h, kernel_w = kernel
    x, w, b = conv_inputs(x_shape, (num_filters, x_shape[1], kernel_h, kernel_w))
    assert_conv_fast_matches_naive(x, w, b, {'stride': stride, 'pad': pad})


@pytest.mark.parametrize('workers', [1, 2, 3])
@pytest.mark.parametrize('stride, pad', [(1, 1), (2, 0), ((3, 2), (1, 2))])
def test_conv_fast_in_chunks_of_one_example(monkeypatch, stride, pad, workers):
    # The fast layers handle a few examples at a time (as many as fit _CHUNK_BYTES); the
    # small inputs of the other tests fit in one chunk, so force one example per chunk.
    # With several workers (as if NumPy's BLAS were allowed that many threads), the
    # chunks are shared out to worker threads.
    monkeypatch.setattr(fast_layers, '_CHUNK_BYTES', 1)
    monkeypatch.setattr(fast_layers, '_blas_threads', lambda: workers)
    x, w, b = conv_inputs((7, 2, 7, 8), (3, 2, 3, 4))
    assert_conv_fast_matches_naive(x, w, b, {'stride': stride, 'pad': pad})


class NumpyWithDirtyEmpty:
    """numpy, except that np.empty returns arrays full of NaN: memory as dirty as it gets."""

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def empty(shape, dtype=float):
        return np.full(shape, np.nan, dtype)


@pytest.mark.parametrize('workers', [1, 2])
@pytest.mark.parametrize('x_shape, kernel, stride, pad', [
    ((3, 2, 7, 8), (3, 3, 4), 1, 1), ((3, 2, 9, 9), (3, 3, 3), 3, 1),
    ((3, 2, 7, 8), (3, 3, 4), (3, 2), (1, 2)), ((2, 3, 6, 5), (2, 5, 1), 2, 0)])
def test_conv_fast_writes_every_scratch_cell_it_reads(monkeypatch, workers, x_shape, kernel,
                                                      stride, pad):
    # The scratch arrays (cols, the gradient grids) are reused from call to call and hold
    # whatever the last user left: the layers must write every cell of them that they read
    # (the bias row, the extra columns of the grid, the padding of dphases). Here every
    # array made with np.empty starts full of NaN and the chunks hold one example each,
    # so a cell left out poisons the results.
    monkeypatch.setattr(fast_layers, 'np', NumpyWithDirtyEmpty())
    monkeypatch.setattr(fast_layers, '_workspace', threading.local())
    monkeypatch.setattr(fast_layers, '_CHUNK_BYTES', 1)
    monkeypatch.setattr(fast_layers, '_blas_threads', lambda: workers)
    num_filters, kernel_h, kernel_w = kernel
    x, w, b = conv_inputs(x_shape, (num_filters, x_shape[1], kernel_h, kernel_w))
    assert_conv_fast_matches_naive(x, w, b, {'stride': stride, 'pad': pad})


def test_conv_fast_layers_interleaved_like_a_network():
    # Forward through two layers, then backward in reverse order: the scratch space the
    # fast layers reuse between calls must not leak into outputs or caches.
    x, w1, b1 = conv_inputs((4, 3, 9, 9), (5, 3, 3, 3), seed=0)
    _, w2, b2 = conv_inputs((4, 5, 9, 9), (2, 5, 5, 5), seed=1)
    param1, param2 = {'stride': 1, 'pad': 1}, {'stride': 2, 'pad': 2}
    h_fast, cache1 = conv_forward_fast(x, w1, b1, param1)
    out_fast, cache2 = conv_forward_fast(h_fast, w2, b2, param2)
    h_naive, naive1 = conv_forward_naive(x, w1, b1, param1)
    out_naive, naive2 = conv_forward_naive(h_naive, w2, b2, param2)
    dout = np.random.default_rng(2).standard_normal(out_naive.shape)
    dh_fast, dw2_fast, _ = conv_backward_fast(dout, cache2)
    dx_fast, dw1_fast, _ = conv_backward_fast(dh_fast, cache1)
    dh_naive, dw2_naive, _ = conv_backward_naive(dout, naive2)
    dx_naive, dw1_naive, _ = conv_backward_naive(dh_naive, naive1)
    for fast, naive in [(out_fast, out_naive), (dx_fast, dx_naive), (dw1_fast, dw1_naive),
                        (dw2_fast, dw2_naive)]:
        assert max_abs_difference(fast, naive) < 1e-10


def test_conv_fast_from_several_threads_at_once():
    # Each thread has its own scratch space; with a shared one these results would mix.
    configs = [((16, 8, 20, 18), (8, 8, 3, 3), 1, 1), ((12, 6, 21, 23), (6, 6, 5, 3), 2, 2)]

    def forward_backward(config):
        x_shape, w_shape, stride, pad = config
        x, w, b = conv_inputs(x_shape, w_shape)
        results = []
        for _ in range(20):
            out, cache = conv_forward_fast(x, w, b, {'stride': stride, 'pad': pad})
            results.append((out,) + conv_backward_fast(np.ones_like(out), cache))
        return results

    expected = [forward_backward(config)[0] for config in configs]
    with ThreadPoolExecutor(max_workers=2) as pool:
        for runs, reference in zip(pool.map(forward_backward, configs), expected):
            for run in runs:
                for array, reference_array in zip(run, reference):
                    np.testing.assert_array_equal(array, reference_array)


def test_run_chunks_uses_worker_threads_and_keeps_the_order_of_the_chunks():
    import threading
    import time
    chunks = [(start, start + 1) for start in range(8)]

    def task(start, stop):
        time.sleep(0.01 * (8 - start))     # the first chunks finish last
        return start, threading.current_thread().name

    threads_before = fast_layers._blas_threads()
    results = fast_layers._run_chunks(task, chunks, workers=2)
    assert [start for start, _ in results] == list(range(8))
    # The calling thread is one of the two workers, a pool thread the other.
    names = {name for _, name in results}
    here = threading.current_thread().name
    assert len(names) == 2 and here in names
    assert all(name.startswith('fast_layers') for name in names - {here})
    # The one-thread limit on the BLAS holds only while the chunks run.
    assert fast_layers._blas_threads() == threads_before
    # One worker, or a single chunk: everything runs in the calling thread.
    assert {name for _, name in fast_layers._run_chunks(task, chunks[:3], 1)} == {here}
    assert {name for _, name in fast_layers._run_chunks(task, chunks[:1], 2)} == {here}


def test_run_chunks_passes_on_an_error_and_leaves_the_blas_as_it_was():
    threads_before = fast_layers._blas_threads()

    def task(start, stop):
        if start == 2:
            raise ValueError("chunk 2 failed")
        return start

    # Chunk 2 runs in the calling thread with 2 workers, in a pool thread with 3.
    for workers in (2, 3):
        with pytest.raises(ValueError, match="chunk 2 failed"):
            fast_layers._run_chunks(task, [(k, k + 1) for k in range(4)], workers)
        assert fast_layers._blas_threads() == threads_before
        assert fast_layers._run_chunks(lambda a, b: a, [(0, 1), (1, 2)], 2) == [0, 1]


@pytest.mark.parametrize('num_examples, chunk_bytes, workers',
                         [(50, 4 * 2 ** 20, 1), (50, 4 * 2 ** 20, 2), (50, 1, 2),
                          (3, 4 * 2 ** 20, 4), (101, 200_000, 3)])
def test_example_chunks_cover_every_example_in_balanced_shares(monkeypatch, num_examples,
                                                               chunk_bytes, workers):
    monkeypatch.setattr(fast_layers, '_CHUNK_BYTES', chunk_bytes)
    geometry = fast_layers._ConvGeometry((num_examples, 32, 16, 16), (64, 32, 3, 3),
                                         (1, 1), (1, 1))
    chunks = geometry.example_chunks(itemsize=4, workers=workers)
    assert chunks[0][0] == 0 and chunks[-1][1] == num_examples
    assert all(stop == next_start for (_, stop), (next_start, _) in zip(chunks, chunks[1:]))
    sizes = [stop - start for start, stop in chunks]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1
    per_example = (32 * 3 * 3 + 1) * geometry.line * 4
    assert max(sizes) <= max(1, chunk_bytes // per_example)
    if workers > 1 and len(chunks) < num_examples:   # (one example per chunk is the least)
        assert len(chunks) % workers == 0


def test_conv_fast_drops_rows_and_columns_the_stride_never_reaches():
    # H + 2 * pad - HH = 8 is not a multiple of stride 3: the last row and column of x
    # are in no window, so their gradient must be exactly zero.
    x, w, b = conv_inputs((2, 2, 9, 9), (3, 2, 3, 3))
    out, cache = conv_forward_fast(x, w, b, {'stride': 3, 'pad': 1})
    assert out.shape == (2, 3, 3, 3)
    dx, _, _ = conv_backward_fast(np.ones_like(out), cache)
    assert np.all(dx[:, :, -1, :] == 0) and np.all(dx[:, :, :, -1] == 0)
    assert np.all(dx[:, :, :-1, :-1] != 0)   # every other input is in exactly one window


def test_conv_fast_accepts_non_contiguous_input():
    x, w, b = conv_inputs((5, 3, 6, 7), (4, 3, 3, 2))
    x_view = np.asfortranarray(x)[:, :, ::-1, :]   # strided, reversed view
    conv_param = {'stride': (2, 1), 'pad': (1, 0)}
    out_fast, _ = conv_forward_fast(x_view, w, b, conv_param)
    out_naive, _ = conv_forward_naive(np.ascontiguousarray(x_view), w, b, conv_param)
    assert max_abs_difference(out_fast, out_naive) < 1e-10


def test_conv_fast_backward_matches_numeric_gradients():
    x, w, b = conv_inputs((2, 3, 5, 6), (3, 3, 3, 2))
    conv_param = {'stride': (2, 1), 'pad': (1, 2)}
    out, cache = conv_forward_fast(x, w, b, conv_param)
    dout = np.random.default_rng(2).standard_normal(out.shape)
    dx, dw, db = conv_backward_fast(dout, cache)
    numeric = [eval_numerical_gradient_array(
        lambda _: conv_forward_fast(x, w, b, conv_param)[0], array, dout) for array in (x, w, b)]
    for name, analytic, expected in zip(('dx', 'dw', 'db'), (dx, dw, db), numeric):
        assert rel_error(analytic, expected) < 1e-7, name


def test_conv_fast_keeps_float32_and_agrees_with_float64():
    x, w, b = conv_inputs((4, 3, 9, 8), (5, 3, 3, 4), dtype=np.float32)
    conv_param = {'stride': 2, 'pad': 1}
    out32, cache32 = conv_forward_fast(x, w, b, conv_param)
    dout = np.random.default_rng(3).standard_normal(out32.shape).astype(np.float32)
    grads32 = conv_backward_fast(dout, cache32)
    assert out32.dtype == np.float32
    assert all(grad.dtype == np.float32 for grad in grads32)

    as64 = [array.astype(np.float64) for array in (x, w, b)]
    out64, cache64 = conv_forward_naive(*as64, conv_param)
    grads64 = conv_backward_naive(dout.astype(np.float64), cache64)
    for fast, reference in zip((out32,) + tuple(grads32), (out64,) + tuple(grads64)):
        scale = np.max(np.abs(reference))
        assert max_abs_difference(fast, reference) < 1e-4 * scale


@pytest.mark.parametrize('x_shape, w_shape, b_shape, conv_param, message', [
    ((2, 3, 5, 5), (4, 2, 3, 3), (4,), {}, 'channels'),
    ((2, 3, 5, 5), (4, 3, 3, 3), (3,), {}, 'b must have shape'),
    ((3, 5, 5), (4, 3, 3, 3), (4,), {}, r'\(N, C, H, W\)'),
    ((2, 3, 5, 5), (4, 3, 3, 3), (4,), {'stride': 0}, 'stride'),
    ((2, 3, 5, 5), (4, 3, 3, 3), (4,), {'stride': 1.5}, 'stride'),
    ((2, 3, 5, 5), (4, 3, 3, 3), (4,), {'pad': -1}, 'pad'),
    ((2, 3, 5, 5), (4, 3, 3, 8), (4,), {'pad': 1}, 'width'),
])
def test_conv_fast_rejects_bad_input(x_shape, w_shape, b_shape, conv_param, message):
    with pytest.raises(ValueError, match=message):
        conv_forward_fast(np.zeros(x_shape), np.zeros(w_shape), np.zeros(b_shape), conv_param)


def test_conv_fast_backward_rejects_dout_of_wrong_shape():
    x, w, b = conv_inputs((2, 3, 5, 5), (4, 3, 3, 3))
    out, cache = conv_forward_fast(x, w, b, {'pad': 1})
    with pytest.raises(ValueError, match='dout'):
        conv_backward_fast(out[:, :, 1:], cache)


# ---------------------------------------------------------------------------------------
# Pooling: fast == naive on a grid of shapes
# ---------------------------------------------------------------------------------------

POOL_GRID = [  # (x shape, pool_height, pool_width, stride)
    ((2, 3, 8, 8), 2, 2, 2),        # windows tile the input
    ((2, 3, 7, 9), 2, 2, 2),        # stride does not tile: last row / column unused
    ((2, 2, 9, 7), 3, 3, 2),        # overlapping windows
    ((2, 2, 6, 8), 2, 3, 1),        # rectangular, stride 1, heavily overlapping
    ((1, 2, 8, 7), 3, 2, (2, 3)),   # rectangular window, per-axis stride
    ((2, 1, 9, 9), 2, 2, 3),        # gaps between windows
    ((1, 2, 5, 4), 5, 4, 1),        # a single window covering the input
]


@pytest.mark.parametrize('kind', POOLS)
@pytest.mark.parametrize('x_shape, pool_h, pool_w, stride', POOL_GRID)
def test_pool_fast_matches_naive(kind, x_shape, pool_h, pool_w, stride):
    forward_naive, backward_naive, forward_fast, backward_fast = POOLS[kind]
    x = np.random.default_rng(0).standard_normal(x_shape)
    pool_param = {'pool_height': pool_h, 'pool_width': pool_w, 'stride': stride}
    out_naive, cache_naive = forward_naive(x, pool_param)
    out_fast, cache_fast = forward_fast(x, pool_param)
    assert out_fast.shape == out_naive.shape
    assert max_abs_difference(out_fast, out_naive) < 1e-10
    dout = np.random.default_rng(1).standard_normal(out_naive.shape)
    assert max_abs_difference(backward_fast(dout, cache_fast),
                              backward_naive(dout, cache_naive)) < 1e-10


@pytest.mark.parametrize('x_shape, pool_h, pool_w, stride', POOL_GRID)
def test_max_pool_fast_sends_gradient_to_first_of_tied_maxima(x_shape, pool_h, pool_w, stride):
    # Inputs drawn from {0, 1, 2} tie inside most windows.
    x = np.random.default_rng(4).integers(0, 3, size=x_shape).astype(np.float64)
    pool_param = {'pool_height': pool_h, 'pool_width': pool_w, 'stride': stride}
    out_naive, cache_naive = max_pool_forward_naive(x, pool_param)
    out_fast, cache_fast = max_pool_forward_fast(x, pool_param)
    dout = np.random.default_rng(5).standard_normal(out_naive.shape)
    np.testing.assert_array_equal(out_fast, out_naive)
    np.testing.assert_allclose(max_pool_backward_fast(dout, cache_fast),
                               max_pool_backward_naive(dout, cache_naive), rtol=0, atol=1e-12)


def test_max_pool_fast_tie_goes_to_first_position_in_row_major_order():
    x = np.array([[[[1.0, 3.0],
                    [3.0, 0.0]]]])
    out, cache = max_pool_forward_fast(x, {'pool_height': 2, 'pool_width': 2, 'stride': 2})
    dx = max_pool_backward_fast(np.array([[[[5.0]]]]), cache)
    np.testing.assert_array_equal(out, [[[[3.0]]]])
    np.testing.assert_array_equal(dx, [[[[0.0, 5.0], [0.0, 0.0]]]])


@pytest.mark.parametrize('kind', POOLS)
def test_pool_fast_backward_matches_numeric_gradients(kind):
    _, _, forward, backward = POOLS[kind]
    x = np.random.default_rng(6).standard_normal((2, 2, 7, 6))
    pool_param = {'pool_height': 3, 'pool_width': 2, 'stride': (2, 1)}
    out, cache = forward(x, pool_param)
    dout = np.random.default_rng(7).standard_normal(out.shape)
    numeric = eval_numerical_gradient_array(lambda z: forward(z, pool_param)[0], x, dout)
    assert rel_error(backward(dout, cache), numeric) < 1e-8


@pytest.mark.parametrize('kind', POOLS)
def test_pool_fast_keeps_float32(kind):
    _, _, forward, backward = POOLS[kind]
    x = np.random.default_rng(8).standard_normal((2, 3, 6, 6)).astype(np.float32)
    out, cache = forward(x, {'pool_height': 2, 'pool_width': 2, 'stride': 2})
    dx = backward(np.ones_like(out), cache)
    assert out.dtype == np.float32 and dx.dtype == np.float32


@pytest.mark.parametrize('kind', POOLS)
@pytest.mark.parametrize('pool_param, message', [
    ({'pool_height': 0, 'pool_width': 2, 'stride': 2}, 'pool_height'),
    ({'pool_height': 2, 'pool_width': 2, 'stride': 0}, 'stride'),
    ({'pool_height': 2, 'pool_width': 2.5, 'stride': 2}, 'pool_width'),
    ({'pool_height': 7, 'pool_width': 2, 'stride': 1}, 'height'),
])
def test_pool_fast_rejects_bad_input(kind, pool_param, message):
    _, _, forward, _ = POOLS[kind]
    with pytest.raises(ValueError, match=message):
        forward(np.zeros((1, 1, 6, 6)), pool_param)


@pytest.mark.parametrize('kind', POOLS)
def test_pool_fast_backward_rejects_dout_of_wrong_shape(kind):
    _, _, forward, backward = POOLS[kind]
    out, cache = forward(np.zeros((1, 2, 6, 6)), {'pool_height': 2, 'pool_width': 2,
                                                   'stride': 2})
    with pytest.raises(ValueError, match='dout'):
        backward(out[:, :1], cache)


# ---------------------------------------------------------------------------------------
# Agreement with PyTorch (skipped when torch is not installed)
# ---------------------------------------------------------------------------------------

def torch_gradients(function, inputs, dout):
    """Output and autograd gradients of function(*inputs) for the upstream gradient dout."""
    torch = pytest.importorskip('torch')
    tensors = [torch.from_numpy(array).requires_grad_() for array in inputs]
    out = function(*tensors)
    out.backward(torch.from_numpy(dout))
    return out.detach().numpy(), [tensor.grad.numpy() for tensor in tensors]


@pytest.mark.parametrize('dtype, tolerance', [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize('x_shape, w_shape, stride, pad', [
    ((3, 3, 11, 9), (4, 3, 3, 3), 1, 1),
    ((2, 2, 10, 13), (3, 2, 5, 2), (2, 3), (2, 1)),
    ((2, 4, 9, 9), (5, 4, 1, 1), 2, 0),
])
def test_conv_fast_matches_torch(dtype, tolerance, x_shape, w_shape, stride, pad):
    torch = pytest.importorskip('torch')
    x, w, b = conv_inputs(x_shape, w_shape, dtype=dtype)
    out, cache = conv_forward_fast(x, w, b, {'stride': stride, 'pad': pad})
    dout = np.random.default_rng(9).standard_normal(out.shape).astype(dtype)
    out_torch, grads_torch = torch_gradients(
        lambda *t: torch.nn.functional.conv2d(*t, stride=stride, padding=pad), (x, w, b), dout)
    for fast, reference in zip((out,) + conv_backward_fast(dout, cache),
                               [out_torch] + grads_torch):
        assert fast.dtype == reference.dtype
        assert max_abs_difference(fast, reference) < tolerance * np.max(np.abs(reference))


@pytest.mark.parametrize('kind', POOLS)
@pytest.mark.parametrize('x_shape, pool_h, pool_w, stride', POOL_GRID)
def test_pool_fast_matches_torch(kind, x_shape, pool_h, pool_w, stride):
    torch = pytest.importorskip('torch')
    _, _, forward, backward = POOLS[kind]
    torch_pool = {'max': torch.nn.functional.max_pool2d,
                  'avg': torch.nn.functional.avg_pool2d}[kind]
    x = np.random.default_rng(10).standard_normal(x_shape)
    out, cache = forward(x, {'pool_height': pool_h, 'pool_width': pool_w, 'stride': stride})
    dout = np.random.default_rng(11).standard_normal(out.shape)
    out_torch, (dx_torch,) = torch_gradients(
        lambda t: torch_pool(t, (pool_h, pool_w), stride=stride), (x,), dout)
    assert max_abs_difference(out, out_torch) < 1e-12
    assert max_abs_difference(backward(dout, cache), dx_torch) < 1e-12


# ---------------------------------------------------------------------------------------
# Spatial batch normalization
# ---------------------------------------------------------------------------------------

def test_spatial_batchnorm_fast_matches_naive_in_train_and_test_mode():
    rng = np.random.default_rng(40)
    x = 3 * rng.standard_normal((4, 3, 5, 6)) + 2
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    naive_param, fast_param = {'mode': 'train'}, {'mode': 'train'}
    out, cache = spatial_batchnorm_forward(x, gamma, beta, naive_param)
    out_fast, cache_fast = spatial_batchnorm_forward_fast(x, gamma, beta, fast_param)
    assert rel_error(out, out_fast) < 1e-12
    for key in ('running_mean', 'running_var'):
        np.testing.assert_allclose(naive_param[key], fast_param[key], rtol=1e-12)
    dout = rng.standard_normal(x.shape)
    for naive, fast in zip(spatial_batchnorm_backward(dout, cache),
                           spatial_batchnorm_backward_fast(dout, cache_fast)):
        assert rel_error(naive, fast) < 1e-9
    naive_param['mode'] = fast_param['mode'] = 'test'
    test_out, _ = spatial_batchnorm_forward(x, gamma, beta, naive_param)
    test_out_fast, test_cache = spatial_batchnorm_forward_fast(x, gamma, beta, fast_param)
    assert rel_error(test_out, test_out_fast) < 1e-12 and test_cache is None


def test_spatial_batchnorm_fast_backward_matches_numeric_gradients():
    rng = np.random.default_rng(41)
    x = 5 * rng.standard_normal((2, 3, 4, 5)) + 12
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    dout = rng.standard_normal(x.shape)

    def forward(x_, gamma_, beta_):
        return spatial_batchnorm_forward_fast(x_, gamma_, beta_, {'mode': 'train'})[0]

    _, cache = spatial_batchnorm_forward_fast(x, gamma, beta, {'mode': 'train'})
    dx, dgamma, dbeta = spatial_batchnorm_backward_fast(dout, cache)
    assert rel_error(dx, eval_numerical_gradient_array(
        lambda v: forward(v, gamma, beta), x, dout)) < 1e-7
    assert rel_error(dgamma, eval_numerical_gradient_array(
        lambda v: forward(x, v, beta), gamma, dout)) < 1e-7
    assert rel_error(dbeta, eval_numerical_gradient_array(
        lambda v: forward(x, gamma, v), beta, dout)) < 1e-7


def test_spatial_batchnorm_fast_rejects_bad_inputs():
    with pytest.raises(ValueError, match=r"gamma and beta must have shape \(3,\)"):
        spatial_batchnorm_forward_fast(np.zeros((2, 3, 4, 4)), np.ones(2), np.zeros(3),
                                       {'mode': 'train'})
    with pytest.raises(ValueError, match="needs a cache from a forward pass in 'train'"):
        spatial_batchnorm_backward_fast(np.zeros((2, 3, 4, 4)), None)


# ---------------------------------------------------------------------------------------
# CS231n's names
# ---------------------------------------------------------------------------------------

CS231N_NAMES = {
    'conv_forward_im2col': 'conv_forward_fast', 'conv_forward_strides': 'conv_forward_fast',
    'conv_backward_im2col': 'conv_backward_fast', 'conv_backward_strides': 'conv_backward_fast',
    'max_pool_forward_reshape': 'max_pool_forward_fast',
    'max_pool_forward_im2col': 'max_pool_forward_fast',
    'max_pool_backward_reshape': 'max_pool_backward_fast',
    'max_pool_backward_im2col': 'max_pool_backward_fast',
}


@pytest.mark.parametrize('cs231n_name, name', sorted(CS231N_NAMES.items()))
def test_cs231n_fast_layer_names_are_aliases(cs231n_name, name):
    assert getattr(fast_layers, cs231n_name) is getattr(fast_layers, name)


def test_cs231n_pairs_work_on_windows_cs231n_would_refuse():
    # CS231n's reshape pooling needs square windows that tile the input; here every pair
    # works everywhere, e.g. overlapping 3x3 windows with stride 2, as the naive layer.
    x = np.random.default_rng(42).standard_normal((2, 2, 7, 7))
    pool_param = {'pool_height': 3, 'pool_width': 3, 'stride': 2}
    out, cache = fast_layers.max_pool_forward_reshape(x, pool_param)
    out_naive, cache_naive = max_pool_forward_naive(x, pool_param)
    np.testing.assert_array_equal(out, out_naive)
    dout = np.random.default_rng(43).standard_normal(out.shape)
    np.testing.assert_array_equal(fast_layers.max_pool_backward_im2col(dout, cache),
                                  max_pool_backward_naive(dout, cache_naive))
