"""Correct solutions written differently from the instructor's, for the `alternative` sample.

The tests must give full marks to any correct implementation, so this sample replaces
every solution region of nndl/conv_layers.py and nndl/cnn.py with code that differs from
the instructor's where a test could depend on it: vectorized convolution with
sliding windows and a dict as cache, a backward pass with loops in the other order,
max pooling with stored masks instead of an argmax, average pooling over kernel offsets
and with pure Python loops, spatial batchnorm without nndl.layers, another parameter
initialization order, and a network that chains single layers with a dict of caches.
"""
import textwrap

from grading.classroom.edits import replace_in_function
from grading.authoring.pysolutions import SOLUTION, find_regions

BODIES = {
    'conv_output_size': ['''
out_h, out_w = [(size + 2 * pad - kernel) // stride + 1 for size, kernel, stride, pad in
                zip((height, width), (kernel_h, kernel_w), (stride_h, stride_w), (pad_h, pad_w))]
'''],
    'conv_param_count': ['''
count = int(np.prod([out_channels, in_channels, kernel_h, kernel_w])) + bias * out_channels
'''],
    'conv_forward_naive': ['''
x_pad = np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)))
windows = np.lib.stride_tricks.sliding_window_view(x_pad, w.shape[2:], axis=(2, 3))
windows = windows[:, :, ::stride_h, ::stride_w]          # (N, C, H_out, W_out, HH, WW)
out = np.einsum('nchwij,fcij->nfhw', windows, w) + b[None, :, None, None]
my_cache = {'x_shape': x.shape, 'x_pad': x_pad, 'w': w, 'stride': (stride_h, stride_w),
            'pad': (pad_h, pad_w)}
'''],
    'conv_backward_naive': ['''
x_pad, w = cache['x_pad'], cache['w']
(stride_h, stride_w), (pad_h, pad_w) = cache['stride'], cache['pad']
kernel_h, kernel_w = w.shape[2:]
dx_pad, dw = np.zeros(x_pad.shape), np.zeros(w.shape)
for j in range(dout.shape[3]):
    for i in range(dout.shape[2]):
        rows = slice(i * stride_h, i * stride_h + kernel_h)
        cols = slice(j * stride_w, j * stride_w + kernel_w)
        dw += np.einsum('nf,nchw->fchw', dout[:, :, i, j], x_pad[:, :, rows, cols])
        dx_pad[:, :, rows, cols] += np.einsum('nf,fchw->nchw', dout[:, :, i, j], w)
height, width = cache['x_shape'][2:]
dx = dx_pad[:, :, pad_h:pad_h + height, pad_w:pad_w + width]
db = dout.sum(axis=(0, 2, 3))
'''],
    'max_pool_forward_naive': ['''
out_h = (x.shape[2] - pool_h) // stride_h + 1
out_w = (x.shape[3] - pool_w) // stride_w + 1
out = np.zeros(x.shape[:2] + (out_h, out_w))
masks = {}
for i in range(out_h):
    for j in range(out_w):
        window = x[:, :, i * stride_h:i * stride_h + pool_h, j * stride_w:j * stride_w + pool_w]
        out[:, :, i, j] = window.max(axis=(2, 3))
        masks[i, j] = window == out[:, :, i, j][:, :, None, None]
my_cache = (x.shape, (pool_h, pool_w), (stride_h, stride_w), masks)
'''],
    'max_pool_backward_naive': ['''
x_shape, (pool_h, pool_w), (stride_h, stride_w), masks = cache
dx = np.zeros(x_shape)
for (i, j), mask in masks.items():
    rows = slice(i * stride_h, i * stride_h + pool_h)
    cols = slice(j * stride_w, j * stride_w + pool_w)
    dx[:, :, rows, cols] += mask * dout[:, :, i, j][:, :, None, None]
'''],
    'avg_pool_forward_naive': ['''
out_h = (x.shape[2] - pool_h) // stride_h + 1
out_w = (x.shape[3] - pool_w) // stride_w + 1
out = np.zeros(x.shape[:2] + (out_h, out_w))
for di in range(pool_h):
    for dj in range(pool_w):
        out += x[:, :, di:di + stride_h * (out_h - 1) + 1:stride_h,
                 dj:dj + stride_w * (out_w - 1) + 1:stride_w]
out /= pool_h * pool_w
'''],
    'avg_pool_backward_naive': ['''
dx = np.zeros(x.shape)
for n in range(dout.shape[0]):
    for c in range(dout.shape[1]):
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                share = dout[n, c, i, j] / (pool_h * pool_w)
                for di in range(pool_h):
                    for dj in range(pool_w):
                        dx[n, c, i * stride_h + di, j * stride_w + dj] += share
'''],
    'spatial_batchnorm_forward': ['''
num_channels = x.shape[1]
eps, momentum = bn_param.get('eps', 1e-5), bn_param.get('momentum', 0.9)
axes, shape = (0, 2, 3), (1, -1, 1, 1)
if bn_param['mode'] == 'train':
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    bn_param['running_mean'] = (momentum * bn_param.get('running_mean', np.zeros(num_channels))
                                + (1 - momentum) * mean)
    bn_param['running_var'] = (momentum * bn_param.get('running_var', np.ones(num_channels))
                               + (1 - momentum) * var)
else:
    mean, var = bn_param['running_mean'], bn_param['running_var']
x_hat = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
out = gamma.reshape(shape) * x_hat + beta.reshape(shape)
cache = {'x_hat': x_hat, 'gamma': gamma, 'std': np.sqrt(var + eps)}
'''],
    'spatial_batchnorm_backward': ['''
x_hat, gamma, std = cache['x_hat'], cache['gamma'], cache['std']
axes, shape = (0, 2, 3), (1, -1, 1, 1)
dbeta = dout.sum(axis=axes)
dgamma = (dout * x_hat).sum(axis=axes)
dx_hat = dout * gamma.reshape(shape)
dx = (dx_hat - dx_hat.mean(axis=axes, keepdims=True)
      - x_hat * (dx_hat * x_hat).mean(axis=axes, keepdims=True)) / std.reshape(shape)
'''],
    'ThreeLayerConvNet.__init__': ['''
pooled = num_filters * (height // 2) * (width // 2)
shapes = {'W3': (hidden_dim, num_classes), 'W2': (pooled, hidden_dim),
          'W1': (num_filters, channels, filter_size, filter_size)}
for name, shape in shapes.items():
    self.params[name] = rng.normal(0.0, weight_scale, size=shape)
    self.params['b' + name[1]] = np.zeros(shape[0] if name == 'W1' else shape[1])
if self.use_batchnorm:
    self.params.update(gamma1=np.ones(num_filters), beta1=np.zeros(num_filters))
'''],
    'ThreeLayerConvNet.loss': ['''
from nndl.conv_layers import spatial_batchnorm_backward, spatial_batchnorm_forward
from utils.fast_layers import (conv_backward_fast, conv_forward_fast,
                               max_pool_backward_fast, max_pool_forward_fast)
caches, p = {}, self.params
h, caches['conv'] = conv_forward_fast(X, p['W1'], p['b1'], conv_param)
if self.use_batchnorm:
    h, caches['bn'] = spatial_batchnorm_forward(h, p['gamma1'], p['beta1'], self.bn_params[0])
h, caches['relu1'] = relu_forward(h)
h, caches['pool'] = max_pool_forward_fast(h, pool_param)
h, caches['fc1'] = affine_forward(h, p['W2'], p['b2'])
h, caches['relu2'] = relu_forward(h)
scores, caches['fc2'] = affine_forward(h, p['W3'], p['b3'])
''', '''
loss, d = softmax_loss(scores, y)
d, grads['W3'], grads['b3'] = affine_backward(d, caches['fc2'])
d, grads['W2'], grads['b2'] = affine_backward(relu_backward(d, caches['relu2']), caches['fc1'])
d = relu_backward(max_pool_backward_fast(d, caches['pool']), caches['relu1'])
if self.use_batchnorm:
    d, grads['gamma1'], grads['beta1'] = spatial_batchnorm_backward(d, caches['bn'])
_, grads['W1'], grads['b1'] = conv_backward_fast(d, caches['conv'])
for name in ('W1', 'W2', 'W3'):
    loss += 0.5 * self.reg * np.sum(p[name] ** 2)
    grads[name] = grads[name] + self.reg * p[name]
'''],
}

# Given lines the alternative changes too: the caches it keeps are its own, so its
# backward passes read their settings from them instead of unpacking the usual cache.
CACHE_LINES = [
    ('conv_forward_naive', 'cache = (x, w, b, conv_param)', 'cache = my_cache'),
    ('max_pool_forward_naive', 'cache = (x, pool_param)', 'cache = my_cache'),
    ('conv_backward_naive', '    x, w, b, conv_param = cache\n', ''),
    ('conv_backward_naive',
     '    (stride_h, stride_w), (pad_h, pad_w) = check_conv_inputs(x, w, b, conv_param)\n', ''),
    ('max_pool_backward_naive', '    x, pool_param = cache\n', ''),
    ('max_pool_backward_naive',
     '    (pool_h, pool_w), (stride_h, stride_w) = check_pool_inputs(x, pool_param)\n', ''),
]


def alternative_source(text, filename='<string>'):
    """``text`` with every solution region replaced by the alternative code of BODIES
    (and the given cache lines of CACHE_LINES changed where the function has one)."""
    lines = text.split('\n')
    regions = [region for region in find_regions(text, filename) if region.kind == SOLUTION]
    for region in reversed(regions):
        if region.function not in BODIES:
            raise KeyError(f"{filename}: no alternative for {region.function}")
        index = sum(1 for r in regions if r.function == region.function and r.begin < region.begin)
        body = textwrap.indent(BODIES[region.function][index].strip('\n'), region.indent)
        lines[region.begin - 1:region.end] = body.split('\n')
    text = '\n'.join(lines)
    defined = {region.function for region in regions}
    for function, old, new in CACHE_LINES:
        if function in defined:
            text = replace_in_function(text, function, old, new)
    return text
