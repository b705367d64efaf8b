"""A student's conv layers: loops over the kernel offsets, strided slices; dict caches."""
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


def conv_forward_naive(x, w, b, conv_param):
    sh, sw = _pair(conv_param['stride'])
    ph, pw = _pair(conv_param['pad'])
    F, C, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    Ho, Wo = (xp.shape[2] - HH) // sh + 1, (xp.shape[3] - WW) // sw + 1
    out = np.zeros((x.shape[0], F, Ho, Wo)) + b.reshape(1, F, 1, 1)
    for k in range(HH):
        for l in range(WW):
            patch = xp[:, :, k:k + sh * (Ho - 1) + 1:sh, l:l + sw * (Wo - 1) + 1:sw]
            out += np.tensordot(patch, w[:, :, k, l], axes=([1], [1])).transpose(0, 3, 1, 2)
    cache = {'xp': xp, 'w': w, 'stride': (sh, sw), 'pad': (ph, pw)}
    return out, cache


def conv_backward_naive(dout, cache):
    xp, w = cache['xp'], cache['w']
    (sh, sw), (ph, pw) = cache['stride'], cache['pad']
    F, C, HH, WW = w.shape
    Ho, Wo = dout.shape[2:]
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for k in range(HH):
        for l in range(WW):
            rows = slice(k, k + sh * (Ho - 1) + 1, sh)
            cols = slice(l, l + sw * (Wo - 1) + 1, sw)
            dw[:, :, k, l] = np.tensordot(dout, xp[:, :, rows, cols], axes=([0, 2, 3], [0, 2, 3]))
            dxp[:, :, rows, cols] += np.tensordot(dout, w[:, :, k, l], axes=([1], [0])).transpose(
                0, 3, 1, 2)
    dx = dxp[:, :, ph:dxp.shape[2] - ph, pw:dxp.shape[3] - pw]
    return dx, dw, dout.sum(axis=(0, 2, 3))


def _offsets(x, pool_param):
    ph, pw = pool_param['pool_height'], pool_param['pool_width']
    sh, sw = _pair(pool_param['stride'])
    Ho, Wo = (x.shape[2] - ph) // sh + 1, (x.shape[3] - pw) // sw + 1
    for k in range(ph):
        for l in range(pw):
            yield (slice(k, k + sh * (Ho - 1) + 1, sh), slice(l, l + sw * (Wo - 1) + 1, sw))


def max_pool_forward_naive(x, pool_param):
    out = None
    for rows, cols in _offsets(x, pool_param):
        view = x[:, :, rows, cols]
        out = view.copy() if out is None else np.maximum(out, view)
    return out, {'x': x, 'out': out, 'param': dict(pool_param)}


def max_pool_backward_naive(dout, cache):
    x, out = cache['x'], cache['out']
    dx = np.zeros_like(x)
    for rows, cols in _offsets(x, cache['param']):
        mask = x[:, :, rows, cols] == out
        dx[:, :, rows, cols] += mask * dout
    return dx


def avg_pool_forward_naive(x, pool_param):
    views = [x[:, :, rows, cols] for rows, cols in _offsets(x, pool_param)]
    return sum(views) / len(views), {'x': x, 'param': dict(pool_param)}


def avg_pool_backward_naive(dout, cache):
    x = cache['x']
    area = cache['param']['pool_height'] * cache['param']['pool_width']
    dx = np.zeros_like(x)
    for rows, cols in _offsets(x, cache['param']):
        dx[:, :, rows, cols] += dout / area
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
