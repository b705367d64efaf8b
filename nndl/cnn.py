"""A three-layer convolutional network, built from the sandwich layers of nndl.conv_layer_utils.

    conv - [spatial batchnorm] - relu - 2x2 max pool - affine - relu - affine - softmax

Shapes for an input of N images (C, H, W) with F filters of size K x K (K odd):

    X          (N, C, H, W)
    conv       (N, F, H, W)              stride 1, pad (K - 1) // 2 keeps H and W
    pool       (N, F, H // 2, W // 2)    2x2 windows, stride 2
    affine     (N, hidden_dim)
    affine     (N, num_classes)          the class scores

You write the parameter set-up in ``__init__`` and the forward and backward passes in
``loss``: where it says ``raise NotImplementedError``, delete that line and write your
code, following the TODO comment above it. The checks, the conv/pool settings and
save/load are given.
"""
from numbers import Integral

import numpy as np

from nndl.conv_layer_utils import (conv_bn_relu_pool_backward, conv_bn_relu_pool_forward,
                                   conv_relu_pool_backward, conv_relu_pool_forward)
from nndl.layers import affine_backward, affine_forward, relu_backward, relu_forward, softmax_loss
from nndl.model_io import assign_state, read_model_file, save_model


class ThreeLayerConvNet:
    """conv - [spatial batchnorm] - relu - 2x2 max pool - affine - relu - affine - softmax.

    The network works on minibatches of shape (N, C, H, W). Its parameters live in the
    dict self.params under these names:
    - 'W1' (F, C, K, K), 'b1' (F,): the convolutional layer;
    - 'gamma1' (F,), 'beta1' (F,): scale and shift of the spatial batchnorm (only with
      use_batchnorm);
    - 'W2' (F * (H // 2) * (W // 2), hidden_dim), 'b2' (hidden_dim,): the hidden affine layer;
    - 'W3' (hidden_dim, num_classes), 'b3' (num_classes,): the output affine layer.
    """

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7,
                 hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0,
                 dtype=np.float32, use_batchnorm=False, seed=0):
        """Set up the parameters of the network.

        Inputs:
        - input_dim: (C, H, W), the shape of one input image; (1, 28, 28) for MNIST.
        - num_filters: F, the number of convolutional filters.
        - filter_size: K, the height and width of the filters (odd, so that the
          convolution keeps the spatial size).
        - hidden_dim: number of units of the hidden affine layer.
        - num_classes: number of class scores.
        - weight_scale: standard deviation of the normal distribution the weights are
          drawn from (mean 0). Biases start at zero; gamma1 at one and beta1 at zero.
        - reg: L2 regularization strength.
        - dtype: floating dtype of the parameters (np.float64 for gradient checks).
        - use_batchnorm: put spatial batchnorm between the convolution and the ReLU.
        - seed: seed of the random generator that draws the weights.
        """
        channels, height, width = _check_input_dim(input_dim)
        for name, value in (('num_filters', num_filters), ('filter_size', filter_size),
                            ('hidden_dim', hidden_dim), ('num_classes', num_classes)):
            if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"ThreeLayerConvNet: {name} must be a positive integer, "
                                 f"got {value!r}")
        if filter_size % 2 == 0:
            raise ValueError(f"ThreeLayerConvNet: filter_size must be odd so that the "
                             f"convolution keeps the spatial size, got {filter_size}")
        self.input_dim = (channels, height, width)
        self.reg = float(reg)
        self.dtype = np.dtype(dtype)
        self.use_batchnorm = bool(use_batchnorm)
        # One dict per batchnorm layer; it carries the running averages between calls.
        self.bn_params = []
        if self.use_batchnorm:
            self.bn_params.append({'mode': 'train',
                                   'running_mean': np.zeros(num_filters, dtype=self.dtype),
                                   'running_var': np.ones(num_filters, dtype=self.dtype)})
        self._config = {'input_dim': list(self.input_dim), 'num_filters': int(num_filters),
                        'filter_size': int(filter_size), 'hidden_dim': int(hidden_dim),
                        'num_classes': int(num_classes), 'weight_scale': float(weight_scale),
                        'reg': self.reg, 'dtype': self.dtype.name,
                        'use_batchnorm': self.use_batchnorm, 'seed': seed}
        self.params = {}
        rng = np.random.default_rng(seed)
        # TODO: Create the weights and biases of the three layers in self.params,
        # with the names and shapes of the class docstring. Draw each weight
        # matrix as weight_scale * rng.standard_normal(shape), in the order W1,
        # W2, W3; biases are zeros. With use_batchnorm, also create 'gamma1'
        # (ones) and 'beta1' (zeros). The 2x2 pooling halves H and W (rounding
        # down), which sets the number of rows of W2.
        ### BEGIN SOLUTION
        pooled_height, pooled_width = height // 2, width // 2
        self.params['W1'] = weight_scale * rng.standard_normal(
            (num_filters, channels, filter_size, filter_size))
        self.params['b1'] = np.zeros(num_filters)
        if self.use_batchnorm:
            self.params['gamma1'] = np.ones(num_filters)
            self.params['beta1'] = np.zeros(num_filters)
        self.params['W2'] = weight_scale * rng.standard_normal(
            (num_filters * pooled_height * pooled_width, hidden_dim))
        self.params['b2'] = np.zeros(hidden_dim)
        self.params['W3'] = weight_scale * rng.standard_normal((hidden_dim, num_classes))
        self.params['b3'] = np.zeros(num_classes)
        ### END SOLUTION
        for name, value in self.params.items():
            self.params[name] = value.astype(self.dtype)

    def loss(self, X, y=None):
        """Class scores, or the loss and the gradients of every parameter.

        Inputs:
        - X: input data, shape (N, C, H, W) with (C, H, W) = input_dim.
        - y: labels, shape (N,), integers in [0, num_classes); or None.

        Returns:
        - if y is None: scores, shape (N, num_classes), computed in test mode (batchnorm
          uses its running averages);
        - else a tuple (loss, grads): loss is the mean softmax loss plus
          0.5 * reg * (sum(W1**2) + sum(W2**2) + sum(W3**2)), and grads a dict with the
          gradient of the loss for every key of self.params, each of that parameter's shape.
        """
        X = self._check_input(X)
        mode = 'test' if y is None else 'train'
        for bn_param in self.bn_params:
            bn_param['mode'] = mode
        filter_size = self.params['W1'].shape[2]
        conv_param = {'stride': 1, 'pad': (filter_size - 1) // 2}
        pool_param = {'pool_height': 2, 'pool_width': 2, 'stride': 2}

        scores = None
        # TODO: Forward pass: compute the class scores of X into `scores`. Use
        # conv_relu_pool_forward (or conv_bn_relu_pool_forward with gamma1,
        # beta1 and self.bn_params[0] when self.use_batchnorm), then affine,
        # relu and affine from nndl.layers. Keep the caches for the backward pass.
        ### BEGIN SOLUTION
        params = self.params
        if self.use_batchnorm:
            pooled, conv_cache = conv_bn_relu_pool_forward(
                X, params['W1'], params['b1'], params['gamma1'], params['beta1'],
                conv_param, self.bn_params[0], pool_param)
        else:
            pooled, conv_cache = conv_relu_pool_forward(X, params['W1'], params['b1'],
                                                        conv_param, pool_param)
        hidden_in, hidden_cache = affine_forward(pooled, params['W2'], params['b2'])
        hidden, relu_cache = relu_forward(hidden_in)
        scores, scores_cache = affine_forward(hidden, params['W3'], params['b3'])
        ### END SOLUTION

        if y is None:
            return scores

        loss, grads = 0.0, {}
        # TODO: Backward pass: the loss is softmax_loss of the scores plus the
        # L2 term 0.5 * self.reg * sum(W**2) over W1, W2 and W3 (not the biases,
        # gamma or beta). Store the gradient of each parameter in grads under
        # its name, including the gradient of the L2 term.
        ### BEGIN SOLUTION
        data_loss, dscores = softmax_loss(scores, y)
        dhidden, grads['W3'], grads['b3'] = affine_backward(dscores, scores_cache)
        dhidden_in = relu_backward(dhidden, relu_cache)
        dpooled, grads['W2'], grads['b2'] = affine_backward(dhidden_in, hidden_cache)
        if self.use_batchnorm:
            _, grads['W1'], grads['b1'], grads['gamma1'], grads['beta1'] = \
                conv_bn_relu_pool_backward(dpooled, conv_cache)
        else:
            _, grads['W1'], grads['b1'] = conv_relu_pool_backward(dpooled, conv_cache)
        reg_loss = 0.0
        for name in ('W1', 'W2', 'W3'):
            weight = params[name]
            reg_loss += 0.5 * self.reg * np.sum(weight * weight)
            grads[name] = grads[name] + self.reg * weight
        loss = data_loss + reg_loss
        ### END SOLUTION
        return loss, grads

    # ------------------------------------------------------------------------------------
    # Given: input checks, saving and loading a trained model
    # ------------------------------------------------------------------------------------

    def _check_input(self, X):
        """Return X as an array of self.dtype, after checking its shape."""
        X = np.asarray(X)
        if X.ndim != 4 or X.shape[1:] != self.input_dim:
            expected = ', '.join(map(str, self.input_dim))
            raise ValueError(f"ThreeLayerConvNet: X must have shape (N, {expected}) for "
                             f"input_dim {self.input_dim}, got {X.shape}")
        return X.astype(self.dtype, copy=False)

    @property
    def config(self):
        """The constructor arguments of this model (a dict), as save() stores them."""
        return dict(self._config)

    def save(self, path, metadata=None):
        """Save the parameters, batchnorm running averages and constructor arguments to an
        .npz file; returns its path. metadata: an optional JSON-serializable dict."""
        return save_model(path, self.params, self.bn_params, self.config, metadata)

    @classmethod
    def load(cls, path):
        """Rebuild a model saved by save() (or a Solver checkpoint of this model)."""
        state = read_model_file(path)
        if not state['config']:
            raise ValueError(f"{path} holds no model configuration to rebuild from")
        model = cls(**state['config'])
        assign_state(model, state, source=str(path))
        return model


def _check_input_dim(input_dim):
    """Return input_dim as a (C, H, W) tuple of ints, or raise ValueError."""
    dims = tuple(input_dim) if isinstance(input_dim, (tuple, list)) else None
    if (dims is None or len(dims) != 3
            or not all(isinstance(d, Integral) and not isinstance(d, bool) for d in dims)
            or min(dims) < 1):
        raise ValueError(f"ThreeLayerConvNet: input_dim must be (C, H, W) with positive "
                         f"integers, got {input_dim!r}")
    if min(dims[1:]) < 2:
        raise ValueError(f"ThreeLayerConvNet: images must be at least 2x2 for the 2x2 "
                         f"pooling, got input_dim {input_dim!r}")
    return tuple(int(d) for d in dims)
