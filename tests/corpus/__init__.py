"""A corpus of student files for hw5 and the grade each must get, cell by cell.

Each entry is a student's ``nndl/conv_layers.py``: a file of this folder (a correct
implementation written one way), or one of them with one realistic bug (BUGS: an edit of
one function, made by grading.classroom.edits.replace_in_function). The files are self-contained:
they import numpy only, never the course's helpers. The rest of each submission is the
instructor's solution (notebooks' answer cells, ``nndl/cnn.py``).

``expected_failures(entry)`` is the set of grade cells the entry must fail; every other
autograded cell gets full points (tests/test_grading_corpus.py grades them all through
nbgrader).
"""
from pathlib import Path

from grading.classroom.edits import replace_in_function

FOLDER = Path(__file__).resolve().parent

PAIRS = frozenset({'test_conv_forward_pairs', 'test_conv_backward_pairs', 'test_max_pool_pairs',
                   'test_avg_pool_pairs'})
AVG_POOL = frozenset({'test_avg_pool_forward_basic', 'test_avg_pool_forward_overlap',
                      'test_avg_pool_backward_basic', 'test_avg_pool_backward_overlap',
                      'test_avg_pool_pairs'})

# Correct implementations: file -> the cells it fails (features it does not implement).
CORRECT = {
    'output_loops': frozenset(),        # loops over examples, filters, output positions
    'kernel_offsets': frozenset(),      # loops over kernel offsets; dict caches; mask pooling
    'einsum_windows': frozenset(),      # sliding_window_view + einsum; mask pooling
    'im2col': frozenset(),              # im2col index arrays; argmax pooling; other caches
    'cs231n_int': PAIRS,                # int stride/pad only: loses the (h, w)-pair cells
    'ucla_hw5': PAIRS | AVG_POOL | {'test_output_size', 'test_param_count'},
}
# name: (base file, function, old text, new text, cells it fails). One feature each.
# A spatial batchnorm bug costs the spatial batchnorm cells only: ThreeLayerConvNet uses the
# provided fast layer (utils.fast_layers), so test_cnn_batchnorm does not fail with it.
BUGS = {
    'conv_forward_stride_ignored': (
        'output_loops', 'conv_forward_naive',
        'window = xp[n, :, i * sh:i * sh + HH, j * sw:j * sw + WW]',
        'window = xp[n, :, i:i + HH, j:j + WW]',
        {'test_conv_forward_pairs', 'test_conv_forward_stride'}),
    'conv_forward_no_bias': (
        'einsum_windows', 'conv_forward_naive',
        "out = np.einsum('nchwkl,fckl->nfhw', win, w) + b[None, :, None, None]",
        "out = np.einsum('nchwkl,fckl->nfhw', win, w)",
        {'test_conv_forward_basic', 'test_conv_forward_no_pad', 'test_conv_forward_nonsquare',
         'test_conv_forward_pairs', 'test_conv_forward_stride'}),
    'conv_forward_square_kernel': (
        'output_loops', 'conv_forward_naive',
        'F, _, HH, WW = w.shape',
        'F, _, HH, _ = w.shape\n    WW = HH',
        {'test_conv_backward_nonsquare', 'test_conv_forward_nonsquare'}),
    'conv_forward_pad_only_height': (
        'kernel_offsets', 'conv_forward_naive',
        'xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))',
        'xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (ph, ph)))',
        {'test_conv_backward_pairs', 'test_conv_forward_pairs'}),
    'conv_backward_db_averaged': (
        'cs231n_int', 'conv_backward_naive',
        'db = np.sum(dout, axis=(0, 2, 3))',
        'db = np.sum(dout, axis=(0, 2, 3)) / N',
        {'test_conv_backward_db'}),
    'conv_backward_db_axes': (
        'im2col', 'conv_backward_naive',
        'db = dout_flat.sum(axis=(0, 2))',
        'db = dout_flat.sum(axis=2)[0]',
        {'test_conv_backward_db'}),
    'conv_backward_dw_first_example': (
        'einsum_windows', 'conv_backward_naive',
        "dw = np.einsum('nfhw,nchwkl->fckl', dout, win)",
        "dw = np.einsum('fhw,chwkl->fckl', dout[0], win[0])",
        {'test_conv_backward_dw', 'test_conv_backward_no_pad', 'test_conv_backward_nonsquare',
         'test_conv_backward_pairs', 'test_conv_backward_stride'}),
    'conv_backward_dx_not_cropped': (
        'output_loops', 'conv_backward_naive',
        'dx = dxp[:, :, ph:ph + H, pw:pw + W]',
        'dx = dxp',
        {'test_conv_backward_dx', 'test_conv_backward_nonsquare', 'test_conv_backward_pairs',
         'test_conv_backward_stride'}),
    'conv_backward_dx_stride_ignored': (
        'cs231n_int', 'conv_backward_naive',
        'dx_pad[n, :, h0:h0 + HH, w0:w0 + WW] += w[f] * dout[n, f, i, j]',
        'dx_pad[n, :, i:i + HH, j:j + WW] += w[f] * dout[n, f, i, j]',
        {'test_conv_backward_stride'}),
    'conv_backward_dw_stride_ignored': (
        'cs231n_int', 'conv_backward_naive',
        'dw[f] += x_pad[n, :, h0:h0 + HH, w0:w0 + WW] * dout[n, f, i, j]',
        'dw[f] += x_pad[n, :, i:i + HH, j:j + WW] * dout[n, f, i, j]',
        {'test_conv_backward_stride'}),
    'conv_backward_dx_overwrites': (
        'output_loops', 'conv_backward_naive',
        'dxp[n, :, i * sh:i * sh + HH, j * sw:j * sw + WW] += w[f] * dout[n, f, i, j]',
        'dxp[n, :, i * sh:i * sh + HH, j * sw:j * sw + WW] = w[f] * dout[n, f, i, j]',
        {'test_conv_backward_dx', 'test_conv_backward_no_pad', 'test_conv_backward_nonsquare',
         'test_conv_backward_pairs', 'test_conv_backward_stride'}),
    'conv_backward_dx_flipped_kernel': (
        'kernel_offsets', 'conv_backward_naive',
        'np.tensordot(dout, w[:, :, k, l], axes=([1], [0]))',
        'np.tensordot(dout, w[:, :, -1 - k, -1 - l], axes=([1], [0]))',
        {'test_conv_backward_dx', 'test_conv_backward_no_pad', 'test_conv_backward_nonsquare',
         'test_conv_backward_pairs', 'test_conv_backward_stride'}),
    'max_pool_forward_stride_ignored': (
        'cs231n_int', 'max_pool_forward_naive',
        'window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]',
        'window = x[:, :, i:i + ph, j:j + pw]',
        {'test_max_pool_forward_basic', 'test_max_pool_forward_nonsquare',
         'test_max_pool_forward_overlap'}),
    'max_pool_backward_overwrites': (
        'output_loops', 'max_pool_backward_naive',
        'dx[n, c, i * sh + r, j * sw + s] += dout[n, c, i, j]',
        'dx[n, c, i * sh + r, j * sw + s] = dout[n, c, i, j]',
        {'test_max_pool_backward_overlap'}),
    'max_pool_backward_whole_window': (
        'cs231n_int', 'max_pool_backward_naive',
        'mask * dout[:, :, i, j][:, :, None, None])',
        'dout[:, :, i, j][:, :, None, None])',
        {'test_max_pool_backward_basic', 'test_max_pool_backward_nonsquare',
         'test_max_pool_backward_overlap'}),
    'max_pool_reshape_tiling': (
        'einsum_windows', 'max_pool_forward_naive',
        'win, _ = _pool_windows(x, pool_param)\n    return win.max(axis=(4, 5)), (x, pool_param)',
        "N, C, H, W = x.shape\n    ph, pw = pool_param['pool_height'], "
        "pool_param['pool_width']\n    tiles = x[:, :, :H // ph * ph, :W // pw * pw].reshape(N, C, "
        'H // ph, ph, W // pw, pw)\n    return tiles.max(axis=(3, 5)), (x, pool_param)',
        {'test_max_pool_forward_nonsquare', 'test_max_pool_forward_overlap',
         'test_max_pool_pairs'}),
    'max_pool_square_window': (
        'cs231n_int', 'max_pool_forward_naive',
        "ph, pw, stride = pool_param['pool_height'], pool_param['pool_width'], "
        "pool_param['stride']",
        "ph = pw = pool_param['pool_height']\n    stride = pool_param['stride']",
        {'test_max_pool_forward_nonsquare'}),
    'avg_pool_backward_no_area': (
        'kernel_offsets', 'avg_pool_backward_naive',
        'dx[:, :, rows, cols] += dout / area',
        'dx[:, :, rows, cols] += dout',
        {'test_avg_pool_backward_basic', 'test_avg_pool_backward_overlap', 'test_avg_pool_pairs'}),
    'avg_pool_forward_sum': (
        'im2col', 'avg_pool_forward_naive',
        'x_cols.mean(axis=2)',
        'x_cols.sum(axis=2)',
        {'test_avg_pool_forward_basic', 'test_avg_pool_forward_overlap', 'test_avg_pool_pairs'}),
    'avg_pool_backward_overwrites': (
        'output_loops', 'avg_pool_backward_naive',
        'dx[:, :, i * sh:i * sh + ph, j * sw:j * sw + pw] += (',
        'dx[:, :, i * sh:i * sh + ph, j * sw:j * sw + pw] = (',
        {'test_avg_pool_backward_overlap'}),
    'output_size_no_plus_one': (
        'output_loops', 'conv_output_size',
        'return (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1',
        'return (H + 2 * ph - kh) // sh, (W + 2 * pw - kw) // sw',
        {'test_output_size'}),
    'param_count_no_bias': (
        'im2col', 'conv_param_count',
        'return out_channels * in_channels * kh * kw + (out_channels if bias else 0)',
        'return out_channels * in_channels * kh * kw',
        {'test_param_count'}),
    'sbn_statistics_per_example': (
        'output_loops', 'spatial_batchnorm_forward',
        'mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))',
        'mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(2, 3)).mean(axis=0)',
        {'test_sbn_backward_dgamma_dbeta', 'test_sbn_backward_dx', 'test_sbn_forward_train',
         'test_sbn_running_averages'}),
    'sbn_running_average_swapped': (
        'einsum_windows', 'spatial_batchnorm_forward',
        "bn_param['running_mean'] = momentum * running_mean + (1 - momentum) * mean",
        "bn_param['running_mean'] = (1 - momentum) * running_mean + momentum * mean",
        {'test_sbn_running_averages'}),
    'sbn_backward_dgamma_unnormalized': (
        'im2col', 'spatial_batchnorm_backward',
        'dgamma = (dout * x_hat).sum(axis=(0, 2, 3))',
        'dgamma = dout.sum(axis=(0, 2, 3))',
        {'test_sbn_backward_dgamma_dbeta', 'test_sbn_backward_dx'}),
}


def entries():
    """Names of every corpus entry: the correct files, then the bugs."""
    return [*CORRECT, *BUGS]


def source(entry):
    """The text of the entry's nndl/conv_layers.py."""
    if entry in CORRECT:
        return (FOLDER / f'{entry}.py').read_text(encoding='utf-8')
    base, function, old, new, _ = BUGS[entry]
    return replace_in_function(source(base), function, old, new)


def expected_failures(entry):
    """The grade cells the entry must fail."""
    if entry in CORRECT:
        return set(CORRECT[entry])
    base, *_, fails = BUGS[entry]
    return set(fails) | set(CORRECT[base])
