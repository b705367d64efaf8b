"""A student's conv layers: loops over the output positions (and examples, filters)."""
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
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = (H + 2 * ph - HH) // sh + 1, (W + 2 * pw - WW) // sw + 1
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), mode='constant')
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    window = xp[n, :, i * sh:i * sh + HH, j * sw:j * sw + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    sh, sw = _pair(conv_param['stride'])
    ph, pw = _pair(conv_param['pad'])
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, Ho, Wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), mode='constant')
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    for n in range(N):
        for f in range(F):
            db[f] += dout[n, f].sum()
            for i in range(Ho):
                for j in range(Wo):
                    window = xp[n, :, i * sh:i * sh + HH, j * sw:j * sw + WW]
                    dw[f] += window * dout[n, f, i, j]
                    dxp[n, :, i * sh:i * sh + HH, j * sw:j * sw + WW] += w[f] * dout[n, f, i, j]
    dx = dxp[:, :, ph:ph + H, pw:pw + W]
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    ph, pw = pool_param['pool_height'], pool_param['pool_width']
    sh, sw = _pair(pool_param['stride'])
    N, C, H, W = x.shape
    Ho, Wo = (H - ph) // sh + 1, (W - pw) // sw + 1
    out = np.zeros((N, C, Ho, Wo))
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, c, i, j] = np.max(x[n, c, i * sh:i * sh + ph, j * sw:j * sw + pw])
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw = pool_param['pool_height'], pool_param['pool_width']
    sh, sw = _pair(pool_param['stride'])
    N, C, Ho, Wo = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, c, i * sh:i * sh + ph, j * sw:j * sw + pw]
                    r, s = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * sh + r, j * sw + s] += dout[n, c, i, j]
    return dx


def avg_pool_forward_naive(x, pool_param):
    ph, pw = pool_param['pool_height'], pool_param['pool_width']
    sh, sw = _pair(pool_param['stride'])
    N, C, H, W = x.shape
    Ho, Wo = (H - ph) // sh + 1, (W - pw) // sw + 1
    out = np.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = x[:, :, i * sh:i * sh + ph, j * sw:j * sw + pw].mean(axis=(2, 3))
    return out, (x, pool_param)


def avg_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw = pool_param['pool_height'], pool_param['pool_width']
    sh, sw = _pair(pool_param['stride'])
    _, _, Ho, Wo = dout.shape
    dx = np.zeros_like(x)
    for i in range(Ho):
        for j in range(Wo):
            dx[:, :, i * sh:i * sh + ph, j * sw:j * sw + pw] += (
                dout[:, :, i, j][:, :, None, None] / (ph * pw))
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
