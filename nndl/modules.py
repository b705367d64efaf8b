"""Layer objects: the course's layer functions wrapped in PyTorch-style classes.

Each layer object keeps its parameters in a dict ``layer.params`` (e.g. 'weight', 'bias'),
fills ``layer.grads`` (same keys) in its backward pass, and remembers the cache of its
last forward pass:

    conv = Conv2d(1, 6, kernel_size=5, pad=2)
    out = conv.forward(x)          # calls conv_forward_fast(x, w, b, conv_param)
    dx = conv.backward(dout)       # calls conv_backward_fast(dout, cache); sets conv.grads

A ``Sequential`` chains layers; its ``params`` and ``grads`` name every parameter by the
position of its layer ('0.weight', '3.bias', ...). Nothing here computes a layer itself:
convolution, pooling and spatial batchnorm come from utils.fast_layers, affine and ReLU
from nndl.layers. Models built from these layers (Classifier,
LeNet5) live in nndl.models.
"""
from collections.abc import MutableMapping

import numpy as np

from nndl.layers import affine_backward, affine_forward, relu_backward, relu_forward
from utils.conv_checks import as_pair
from utils.fast_layers import (avg_pool_backward_fast, avg_pool_forward_fast,
                               conv_backward_fast, conv_forward_fast, max_pool_backward_fast,
                               max_pool_forward_fast, spatial_batchnorm_backward_fast,
                               spatial_batchnorm_forward_fast)


class Layer:
    """Base class of the layer objects.

    Attributes:
    - params: dict from parameter name to array (empty for layers without parameters).
    - grads: dict with the gradients of the last backward pass, keys as params.
    Subclasses implement forward(x, train=True) -> out and backward(dout) -> dx.
    """

    def __init__(self):
        self.params = {}
        self.grads = {}
        self._cache = None

    def forward(self, x, train=True):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def __call__(self, x, train=True):
        return self.forward(x, train=train)

    def _last_cache(self):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return self._cache

    def __repr__(self):
        return f"{type(self).__name__}()"


def _init_weight(shape, fan_in, weight_scale, seed, dtype):
    """Weights drawn from N(0, scale**2); scale = sqrt(2 / fan_in) (He) if weight_scale is None.

    seed is an int or a np.random.Generator (to share one stream among layers).
    """
    rng = np.random.default_rng(seed)
    scale = np.sqrt(2.0 / fan_in) if weight_scale is None else weight_scale
    return (scale * rng.standard_normal(shape)).astype(dtype)


class Conv2d(Layer):
    """Convolution with F filters of size (HH, WW): input (N, C, H, W) -> (N, F, H', W').

    Arguments:
    - in_channels: C. out_channels: F.
    - kernel_size: an int or an (HH, WW) pair. stride (>= 1) and pad (>= 0): an int or a pair.
    - weight_scale: standard deviation of the initial weights; None (default) for He
      initialization, sqrt(2 / (C * HH * WW)), suited to a ReLU that follows.
    - seed: an int or a np.random.Generator for the initial weights.
    - dtype: dtype of the parameters.
    Parameters: 'weight' (F, C, HH, WW), 'bias' (F,) (zeros).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, pad=0,
                 weight_scale=None, seed=0, dtype=np.float32):
        super().__init__()
        kernel_h, kernel_w = as_pair(kernel_size, 'kernel_size', 1)
        as_pair(stride, 'stride', 1)
        as_pair(pad, 'pad', 0)
        in_channels, out_channels = int(in_channels), int(out_channels)
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"Conv2d: channel counts must be >= 1, got in_channels="
                             f"{in_channels}, out_channels={out_channels}")
        fan_in = in_channels * kernel_h * kernel_w
        self.params['weight'] = _init_weight((out_channels, in_channels, kernel_h, kernel_w),
                                             fan_in, weight_scale, seed, dtype)
        self.params['bias'] = np.zeros(out_channels, dtype=dtype)
        self.conv_param = {'stride': stride, 'pad': pad}

    def forward(self, x, train=True):
        out, self._cache = conv_forward_fast(x, self.params['weight'], self.params['bias'],
                                             self.conv_param)
        return out

    def backward(self, dout):
        dx, self.grads['weight'], self.grads['bias'] = conv_backward_fast(dout,
                                                                          self._last_cache())
        return dx

    def __repr__(self):
        out_channels, in_channels, kernel_h, kernel_w = self.params['weight'].shape
        return (f"Conv2d({in_channels}, {out_channels}, kernel_size=({kernel_h}, {kernel_w}), "
                f"stride={self.conv_param['stride']}, pad={self.conv_param['pad']})")


class _Pool2d(Layer):
    """Shared set-up of the pooling layers: window (pool_height, pool_width) and stride."""

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        pool_h, pool_w = as_pair(kernel_size, 'kernel_size', 1)
        stride = (pool_h, pool_w) if stride is None else stride
        as_pair(stride, 'stride', 1)
        self.pool_param = {'pool_height': pool_h, 'pool_width': pool_w, 'stride': stride}

    def __repr__(self):
        param = self.pool_param
        return (f"{type(self).__name__}(kernel_size=({param['pool_height']}, "
                f"{param['pool_width']}), stride={param['stride']})")


class MaxPool2d(_Pool2d):
    """Max pooling over windows of kernel_size (int or pair), stride defaulting to the
    window (non-overlapping). Input (N, C, H, W) -> (N, C, H', W'). No parameters."""

    def forward(self, x, train=True):
        out, self._cache = max_pool_forward_fast(x, self.pool_param)
        return out

    def backward(self, dout):
        return max_pool_backward_fast(dout, self._last_cache())


class AvgPool2d(_Pool2d):
    """Average pooling, arguments as MaxPool2d. No parameters."""

    def forward(self, x, train=True):
        out, self._cache = avg_pool_forward_fast(x, self.pool_param)
        return out

    def backward(self, dout):
        return avg_pool_backward_fast(dout, self._last_cache())


class ReLU(Layer):
    """Elementwise max(0, x), any shape. No parameters."""

    def forward(self, x, train=True):
        out, self._cache = relu_forward(x)
        return out

    def backward(self, dout):
        return relu_backward(dout, self._last_cache())


class Flatten(Layer):
    """Reshape (N, d_1, ..., d_k) to (N, d_1 * ... * d_k). No parameters."""

    def forward(self, x, train=True):
        self._cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        return dout.reshape(self._last_cache())


class Linear(Layer):
    """Fully connected layer: input (N, D) (or (N, d_1, ..., d_k), flattened) -> (N, M).

    Arguments: in_features D, out_features M; weight_scale, seed, dtype as for Conv2d
    (He initialization sqrt(2 / D) by default).
    Parameters: 'weight' (D, M), 'bias' (M,) (zeros).
    """

    def __init__(self, in_features, out_features, weight_scale=None, seed=0, dtype=np.float32):
        super().__init__()
        in_features, out_features = int(in_features), int(out_features)
        if in_features < 1 or out_features < 1:
            raise ValueError(f"Linear: feature counts must be >= 1, got in_features="
                             f"{in_features}, out_features={out_features}")
        self.params['weight'] = _init_weight((in_features, out_features), in_features,
                                             weight_scale, seed, dtype)
        self.params['bias'] = np.zeros(out_features, dtype=dtype)

    def forward(self, x, train=True):
        out, self._cache = affine_forward(x, self.params['weight'], self.params['bias'])
        return out

    def backward(self, dout):
        dx, self.grads['weight'], self.grads['bias'] = affine_backward(dout,
                                                                       self._last_cache())
        return dx

    def __repr__(self):
        return "Linear({}, {})".format(*self.params['weight'].shape)


class BatchNorm2d(Layer):
    """Spatial batch normalization of C channels: (N, C, H, W) -> (N, C, H, W).

    Normalizes with the batch statistics when forward is called with train=True (and
    updates the running averages), with the running averages when train=False.
    Arguments: num_features C, eps (1e-5), momentum (0.9), dtype.
    Parameters: 'gamma' (C,) (ones), 'beta' (C,) (zeros). The running averages live in
    ``self.bn_param`` ('running_mean', 'running_var').
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.9, dtype=np.float32):
        super().__init__()
        self.params['gamma'] = np.ones(num_features, dtype=dtype)
        self.params['beta'] = np.zeros(num_features, dtype=dtype)
        self.bn_param = {'mode': 'train', 'eps': eps, 'momentum': momentum,
                         'running_mean': np.zeros(num_features, dtype=dtype),
                         'running_var': np.ones(num_features, dtype=dtype)}

    def forward(self, x, train=True):
        self.bn_param['mode'] = 'train' if train else 'test'
        out, self._cache = spatial_batchnorm_forward_fast(x, self.params['gamma'],
                                                          self.params['beta'], self.bn_param)
        return out

    def backward(self, dout):
        if self.bn_param['mode'] != 'train':
            raise RuntimeError("BatchNorm2d.backward needs a forward pass with train=True")
        dx, self.grads['gamma'], self.grads['beta'] = spatial_batchnorm_backward_fast(
            dout, self._last_cache())
        return dx

    def __repr__(self):
        return f"BatchNorm2d({self.params['gamma'].shape[0]})"


class ParameterView(MutableMapping):
    """The parameters of a Sequential as one dict-like object, keyed '<index>.<name>'.

    Reading gives the layer's own array; assigning (view['0.weight'] = new_array) replaces
    the array inside the layer, so the next forward pass uses it. This is how the Solver's
    ``model.params[name] = next_w`` reaches the layers. New arrays must keep the old shape;
    parameters cannot be added or removed.
    """

    def __init__(self, sequential):
        self._sequential = sequential

    def _slots(self):
        """{full name: (the layer's params mapping, the layer's own name)}."""
        return {f"{index}.{name}": (layer.params, name)
                for index, layer in enumerate(self._sequential.layers)
                for name in layer.params}

    def _slot(self, name):
        slots = self._slots()
        if name not in slots:
            raise KeyError(f"no parameter {name!r}; the parameters are {sorted(slots)}")
        return slots[name]

    def __getitem__(self, name):
        params, own_name = self._slot(name)
        return params[own_name]

    def __setitem__(self, name, value):
        params, own_name = self._slot(name)
        if np.shape(value) != np.shape(params[own_name]):
            raise ValueError(f"parameter {name!r} has shape {np.shape(params[own_name])}, "
                             f"cannot replace it with an array of shape {np.shape(value)}")
        params[own_name] = value

    def __delitem__(self, name):
        raise TypeError("the parameters of a Sequential cannot be removed")

    def __iter__(self):
        return iter(self._slots())

    def __len__(self):
        return len(self._slots())

    def __repr__(self):
        shapes = ', '.join(f"'{name}': {np.shape(self[name])}" for name in self)
        return f"ParameterView({{{shapes}}})"


class Sequential(Layer):
    """Layers applied one after the other; backward runs them in reverse order.

    - params: a ParameterView over every layer's parameters, names '<index>.<name>'
      (a nested Sequential gives '<index>.<inner index>.<name>'); assignment writes through.
    - grads: a new dict, same names, with the gradients of the last backward pass.
    - bn_params: the bn_param dicts of the BatchNorm2d layers, in order.
    """

    def __init__(self, *layers):
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: item {index} is a {type(layer).__name__}, "
                                f"not a layer object")
        self.layers = list(layers)
        self._view = ParameterView(self)

    @property
    def params(self):
        return self._view

    @property
    def grads(self):
        grads = {}
        for index, layer in enumerate(self.layers):
            for name, grad in layer.grads.items():
                grads[f"{index}.{name}"] = grad
        return grads

    @property
    def bn_params(self):
        found = []
        for layer in self.layers:
            if isinstance(layer, BatchNorm2d):
                found.append(layer.bn_param)
            elif isinstance(layer, Sequential):
                found.extend(layer.bn_params)
        return found

    def forward(self, x, train=True):
        """Input x: whatever the first layer takes. Returns the last layer's output."""
        for layer in self.layers:
            x = layer.forward(x, train=train)
        return x

    def backward(self, dout):
        """dout: gradient of the output. Returns the gradient of the input."""
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def output_shape(self, input_shape):
        """Shape of the output for one example of shape input_shape, e.g. (1, 28, 28).

        Runs a forward pass (train=False) on one all-zero example of the dtype of the
        first parameter found, or float64.
        """
        dtype = next((np.asarray(value).dtype for value in self.params.values()), np.float64)
        return self.forward(np.zeros((1, *input_shape), dtype=dtype), train=False).shape[1:]

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, index):
        return self.layers[index]

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self):
        lines = [f"  ({index}) {layer!r}".replace('\n', '\n  ')
                 for index, layer in enumerate(self.layers)]
        return "Sequential(\n" + "\n".join(lines) + "\n)"
