"""A student's conv layers with im2col (index arrays); argmax-based max pooling."""
import numpy as np


def _pair(value):
    """(h, w) from an int or a pair."""
    if isinstance(value, (tuple, list)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


def conv_output_size(input_size, kernel_size, stride=1, pad=0):
    (H, W), (kh, kw), (sh, sw), (ph, pw) = map(_pair, (input_size, kernel_size, stride, pad))
    return (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1


def conv_param_count(in_channels, out_channels, kernel_size, bias=True):
    kh, kw = _pair(kernel_size)
    return out_channels * in_channels * kh * kw + (out_channels if bias else 0)


# Kept from the course skeleton of the time (the provided fast layers imported them).
def _check_conv_inputs(x, w, b, conv_param):
    return _pair(conv_param.get('stride', 1)), _pair(conv_param.get('pad', 0))


def _check_pool_inputs(x, pool_param):
    window = (int(pool_param.get('pool_height', 2)), int(pool_param.get('pool_width', 2)))
    return window, _pair(pool_param.get('stride', 2))


def _im2col_indices(C, H, W, kh, kw, sh, sw):
    """Row/column/channel index arrays of shape (C*kh*kw, Ho*Wo) into a (C, H, W) input."""
    Ho, Wo = (H - kh) // sh + 1, (W - kw) // sw + 1
    i0 = np.tile(np.repeat(np.arange(kh), kw), C)
    j0 = np.tile(np.arange(kw), kh * C)
    i1 = sh * np.repeat(np.arange(Ho), Wo)
    j1 = sw * np.tile(np.arange(Wo), Ho)
    rows = i0[:, None] + i1[None, :]
    cols = j0[:, None] + j1[None, :]
    chans = np.repeat(np.arange(C), kh * kw)[:, None]
    return chans, rows, cols, Ho, Wo


def conv_forward_naive(x, w, b, conv_param):
    sh, sw = _pair(conv_param['stride'])
    ph, pw = _pair(conv_param['pad'])
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    chans, rows, cols, Ho, Wo = _im2col_indices(C, H + 2 * ph, W + 2 * pw, kh, kw, sh, sw)
    x_cols = xp[:, chans, rows, cols]                      # (N, C*kh*kw, Ho*Wo)
    out = np.einsum('fk,nkp->nfp', w.reshape(F, -1), x_cols) + b[None, :, None]
    cache = (x.shape, x_cols, w, (sh, sw), (ph, pw))
    return out.reshape(N, F, Ho, Wo), cache


def conv_backward_naive(dout, cache):
    x_shape, x_cols, w, (sh, sw), (ph, pw) = cache
    N, C, H, W = x_shape
    F, _, kh, kw = w.shape
    dout_flat = dout.reshape(N, F, -1)
    db = dout_flat.sum(axis=(0, 2))
    dw = np.einsum('nfp,nkp->fk', dout_flat, x_cols).reshape(w.shape)
    dx_cols = np.einsum('fk,nfp->nkp', w.reshape(F, -1), dout_flat)
    chans, rows, cols, _, _ = _im2col_indices(C, H + 2 * ph, W + 2 * pw, kh, kw, sh, sw)
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    np.add.at(dxp, (slice(None), chans, rows, cols), dx_cols)
    return dxp[:, :, ph:ph + H, pw:pw + W], dw, db


def _pool_cols(x, pool_param):
    N, C, H, W = x.shape
    ph, pw = pool_param['pool_height'], pool_param['pool_width']
    sh, sw = _pair(pool_param['stride'])
    _, rows, cols, Ho, Wo = _im2col_indices(1, H, W, ph, pw, sh, sw)
    return x[:, :, rows, cols], rows, cols, Ho, Wo        # (N, C, ph*pw, Ho*Wo)


def max_pool_forward_naive(x, pool_param):
    x_cols, rows, cols, Ho, Wo = _pool_cols(x, pool_param)
    argmax = x_cols.argmax(axis=2)
    out = np.take_along_axis(x_cols, argmax[:, :, None], axis=2)[:, :, 0]
    return out.reshape(*x.shape[:2], Ho, Wo), (x.shape, argmax, rows, cols)


def max_pool_backward_naive(dout, cache):
    x_shape, argmax, rows, cols = cache
    N, C = x_shape[:2]
    positions = np.arange(argmax.shape[2])
    dx = np.zeros(x_shape)
    n, c, p = np.meshgrid(np.arange(N), np.arange(C), positions, indexing='ij')
    np.add.at(dx, (n, c, rows[argmax, p], cols[argmax, p]), dout.reshape(N, C, -1))
    return dx


def avg_pool_forward_naive(x, pool_param):
    x_cols, rows, cols, Ho, Wo = _pool_cols(x, pool_param)
    return x_cols.mean(axis=2).reshape(*x.shape[:2], Ho, Wo), (x.shape, rows, cols)


def avg_pool_backward_naive(dout, cache):
    x_shape, rows, cols = cache
    N, C = x_shape[:2]
    area = rows.shape[0]
    dx = np.zeros(x_shape)
    share = np.broadcast_to(dout.reshape(N, C, 1, -1) / area, (N, C) + rows.shape)
    np.add.at(dx, (slice(None), slice(None), rows, cols), share)
    return dx


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Batchnorm with one mean and variance per channel, over (N, H, W)."""
    mode = bn_param['mode']
    eps, momentum = bn_param.get('eps', 1e-5), bn_param.get('momentum', 0.9)
    C = x.shape[1]
    shape = (1, C, 1, 1)
    running_mean = bn_param.get('running_mean', np.zeros(C, dtype=x.dtype))
    running_var = bn_param.get('running_var', np.ones(C, dtype=x.dtype))
    if mode == 'train':
        mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
        x_hat = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
        bn_param['running_mean'] = momentum * running_mean + (1 - momentum) * mean
        bn_param['running_var'] = momentum * running_var + (1 - momentum) * var
        cache = (x_hat, var, eps, gamma)
    elif mode == 'test':
        x_hat = (x - running_mean.reshape(shape)) / np.sqrt(running_var.reshape(shape) + eps)
        cache = None
    else:
        raise ValueError(f"invalid mode {mode!r}")
    return gamma.reshape(shape) * x_hat + beta.reshape(shape), cache


def spatial_batchnorm_backward(dout, cache):
    x_hat, var, eps, gamma = cache
    C = dout.shape[1]
    shape, M = (1, C, 1, 1), dout.size // C
    dbeta = dout.sum(axis=(0, 2, 3))
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3))
    scale = (gamma / np.sqrt(var + eps)).reshape(shape) / M
    dx = scale * (M * dout - dbeta.reshape(shape) - x_hat * dgamma.reshape(shape))
    return dx, dgamma, dbeta
