"""A student's conv layers, vectorized: sliding windows and einsum; mask-based max pooling."""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


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


def _windows(xp, kh, kw, sh, sw):
    """(N, C, Ho, Wo, kh, kw) view of the windows of xp."""
    return sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]


def conv_forward_naive(x, w, b, conv_param):
    sh, sw = _pair(conv_param['stride'])
    ph, pw = _pair(conv_param['pad'])
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    win = _windows(xp, w.shape[2], w.shape[3], sh, sw)
    out = np.einsum('nchwkl,fckl->nfhw', win, w) + b[None, :, None, None]
    return out, {'x': x, 'w': w, 'stride': (sh, sw), 'pad': (ph, pw)}


def conv_backward_naive(dout, cache):
    x, w = cache['x'], cache['w']
    (sh, sw), (ph, pw) = cache['stride'], cache['pad']
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    win = _windows(xp, w.shape[2], w.shape[3], sh, sw)
    dw = np.einsum('nfhw,nchwkl->fckl', dout, win)
    db = np.einsum('nfhw->f', dout)
    grad_win = np.einsum('nfhw,fckl->nchwkl', dout, w)
    Ho, Wo = dout.shape[2:]
    dxp = np.zeros_like(xp)
    for k in range(w.shape[2]):
        for l in range(w.shape[3]):
            dxp[:, :, k:k + sh * (Ho - 1) + 1:sh, l:l + sw * (Wo - 1) + 1:sw] += grad_win[..., k, l]
    dx = dxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]
    return dx, dw, db


def _pool_windows(x, pool_param):
    sh, sw = _pair(pool_param['stride'])
    return _windows(x, pool_param['pool_height'], pool_param['pool_width'], sh, sw), (sh, sw)


def max_pool_forward_naive(x, pool_param):
    win, _ = _pool_windows(x, pool_param)
    return win.max(axis=(4, 5)), (x, pool_param)


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    win, (sh, sw) = _pool_windows(x, pool_param)
    mask = win == win.max(axis=(4, 5), keepdims=True)
    grad = mask * dout[..., None, None]
    Ho, Wo = dout.shape[2:]
    dx = np.zeros_like(x)
    for k in range(win.shape[4]):
        for l in range(win.shape[5]):
            dx[:, :, k:k + sh * (Ho - 1) + 1:sh, l:l + sw * (Wo - 1) + 1:sw] += grad[..., k, l]
    return dx


def avg_pool_forward_naive(x, pool_param):
    win, _ = _pool_windows(x, pool_param)
    return win.mean(axis=(4, 5)), (x, pool_param)


def avg_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw = pool_param['pool_height'], pool_param['pool_width']
    sh, sw = _pair(pool_param['stride'])
    Ho, Wo = dout.shape[2:]
    dx = np.zeros_like(x)
    for k in range(ph):
        for l in range(pw):
            dx[:, :, k:k + sh * (Ho - 1) + 1:sh, l:l + sw * (Wo - 1) + 1:sw] += dout / (ph * pw)
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
