"""Reference computations pasted into the hidden tests of the hw5 notebooks.

A hidden test compares the student's result with one of these. They are written here
once and inserted as text into each ``### BEGIN HIDDEN TESTS`` region that needs them, so
every test cell defines, right before it uses them, the references it compares with: no
code the student submits (nndl/conv_layers.py, nndl/cnn.py) or runs earlier in the
notebook takes part in computing an expected value. They are deliberately written another
way than the solutions (sums over kernel offsets instead of loops over output positions,
formulas over explicit axes), so that the source notebooks, run under nbval, also check
the instructor's solutions against an independent computation.

Each constant is a block of Python source that only needs ``np`` (numpy).

During ``nbgrader autograde`` these definitions never reach the student's kernel: the
kernel runs the test cells with stand-ins that return placeholders (``STRUCTURE`` gives
the shape of each result), and the grader computes the expected values itself, in a
process of its own (grading/sandbox/judge.py, docs/sandbox.md).
"""

# The lines around the references of a test cell (grading.authoring.notebooks.graded), so that the
# grader finds the block it replaces.
REFERENCES_BEGIN = "# --- references: during autograding the grader computes them, not the kernel ---"
REFERENCES_END = "# --- end of references ---"

# The structure of each reference's result, for its stand-in in the kernel
# (utils.checks.sealed_reference): absent, one value; n, a tuple of n values; 'params', a
# dict with the keys of the params argument.
STRUCTURE = {'reference_conv_backward': 3, 'reference_spatial_batchnorm_backward': 3,
             'reference_gradients': 'params'}

CONV = '''
def reference_conv(x, w, b, stride, pad):
    """Convolution as a sum over the kernel offsets (i, j)."""
    (sh, sw), (ph, pw) = stride, pad
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    kh, kw = w.shape[2:]
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = np.zeros((x.shape[0], w.shape[0], oh, ow)) + b[None, :, None, None]
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]
            out += np.einsum('nchw,fc->nfhw', patch, w[:, :, i, j])
    return out
'''

CONV_BACKWARD = '''
def reference_conv_backward(x, w, dout, stride, pad):
    """(dx, dw, db) of reference_conv, offset by offset."""
    (sh, sw), (ph, pw) = stride, pad
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxp, dw = np.zeros(xp.shape), np.zeros(w.shape)
    oh, ow = dout.shape[2:]
    for i in range(w.shape[2]):
        for j in range(w.shape[3]):
            rows, cols = slice(i, i + sh * (oh - 1) + 1, sh), slice(j, j + sw * (ow - 1) + 1, sw)
            dw[:, :, i, j] = np.einsum('nfhw,nchw->fc', dout, xp[:, :, rows, cols])
            dxp[:, :, rows, cols] += np.einsum('nfhw,fc->nchw', dout, w[:, :, i, j])
    dx = dxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]
    return dx, dw, dout.sum(axis=(0, 2, 3))
'''

POOL = '''
def reference_pool(x, window, stride, kind):
    """Max ('max') or average ('avg') pooling over the window offsets."""
    (ph, pw), (sh, sw) = window, stride
    oh, ow = (x.shape[2] - ph) // sh + 1, (x.shape[3] - pw) // sw + 1
    views = [x[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]
             for i in range(ph) for j in range(pw)]
    return np.max(views, axis=0) if kind == 'max' else np.mean(views, axis=0)
'''

POOL_BACKWARD = POOL + '''

def reference_pool_backward(x, dout, window, stride, kind):
    """dx of reference_pool; for 'max', x must have no ties within a window."""
    (ph, pw), (sh, sw) = window, stride
    out = reference_pool(x, window, stride, kind)
    oh, ow = out.shape[2:]
    dx = np.zeros(x.shape)
    for i in range(ph):
        for j in range(pw):
            rows, cols = slice(i, i + sh * (oh - 1) + 1, sh), slice(j, j + sw * (ow - 1) + 1, sw)
            share = (x[:, :, rows, cols] == out) if kind == 'max' else 1.0 / (ph * pw)
            dx[:, :, rows, cols] += dout * share
    return dx
'''

SPATIAL_BATCHNORM = '''
def reference_spatial_batchnorm(x, gamma, beta, mean, var, eps):
    """gamma * (x - mean) / sqrt(var + eps) + beta, per channel."""
    shape = (1, -1, 1, 1)
    x_hat = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return gamma.reshape(shape) * x_hat + beta.reshape(shape)
'''

SPATIAL_BATCHNORM_BACKWARD = '''
def reference_spatial_batchnorm_backward(x, gamma, dout, eps):
    """(dx, dgamma, dbeta) of train-mode spatial batchnorm, statistics over (N, H, W)."""
    axes, shape = (0, 2, 3), (1, -1, 1, 1)
    count = x.size // x.shape[1]
    inv_std = 1.0 / np.sqrt(x.var(axis=axes) + eps).reshape(shape)
    x_hat = (x - x.mean(axis=axes).reshape(shape)) * inv_std
    dbeta, dgamma = dout.sum(axis=axes), (dout * x_hat).sum(axis=axes)
    dx = (gamma.reshape(shape) * inv_std / count) * (
        count * dout - dbeta.reshape(shape) - x_hat * dgamma.reshape(shape))
    return dx, dgamma, dbeta
'''

THREE_LAYER_NET = CONV + POOL + '''

def reference_scores(params, X, bn=None):
    """Scores of conv - [batchnorm] - relu - 2x2 max pool - affine - relu - affine.

    bn: None, or (mean, var) of the batchnorm in test mode; 'batch' for train mode.
    """
    k = params['W1'].shape[2]
    h = reference_conv(X, params['W1'], params['b1'], (1, 1), ((k - 1) // 2, (k - 1) // 2))
    if bn is not None:
        mean, var = (h.mean(axis=(0, 2, 3)), h.var(axis=(0, 2, 3))) if bn == 'batch' else bn
        shape = (1, -1, 1, 1)
        h = (h - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + 1e-5)
        h = params['gamma1'].reshape(shape) * h + params['beta1'].reshape(shape)
    h = reference_pool(np.maximum(h, 0), (2, 2), (2, 2), 'max')
    h = np.maximum(h.reshape(len(X), -1) @ params['W2'] + params['b2'], 0)
    return h @ params['W3'] + params['b3']


def reference_loss(params, X, y, reg, bn=None):
    """Mean softmax cross-entropy of reference_scores plus 0.5 * reg * sum of W**2."""
    scores = reference_scores(params, X, bn)
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    penalty = sum(np.sum(params[name] ** 2) for name in ('W1', 'W2', 'W3'))
    return -log_probs[np.arange(len(y)), y].mean() + 0.5 * reg * penalty


def reference_gradients(params, X, y, reg, bn=None, h=1e-6):
    """Gradients of reference_loss by centered differences, one entry at a time."""
    params = {name: value.astype(np.float64) for name, value in params.items()}
    grads = {}
    for name, value in params.items():
        grad = np.zeros(value.shape)
        for index in np.ndindex(value.shape):
            saved = value[index]
            value[index] = saved + h
            plus = reference_loss(params, X, y, reg, bn)
            value[index] = saved - h
            minus = reference_loss(params, X, y, reg, bn)
            value[index] = saved
            grad[index] = (plus - minus) / (2 * h)
        grads[name] = grad
    return grads
'''
