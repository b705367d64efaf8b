"""Classifiers built from the layer objects of nndl.modules, ready for the Solver.

    model = LeNet5(in_channels=1, num_classes=10, reg=1e-4)
    solver = Solver(model, data, update_rule='adam', optim_config={'learning_rate': 1e-3})
    solver.train()
    model.save('lenet5.npz'); model = LeNet5.load('lenet5.npz')

A Classifier puts a softmax loss and L2 regularization on top of a Sequential network and
exposes what the Solver needs: ``params`` (the network's parameters, updated in place)
and ``loss(X, y=None)``.
"""
import numpy as np

from nndl.layers import softmax_loss
from nndl.model_io import assign_state, read_model_file, save_model
from nndl.modules import AvgPool2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential


class Classifier:
    """A Sequential network that outputs class scores, with a softmax loss.

    Arguments:
    - network: a Sequential whose output for X of shape (N, ...) is scores (N, C).
    - reg: L2 regularization strength; the loss adds 0.5 * reg * sum(W**2) over every
      parameter named 'weight' (of Conv2d and Linear layers; not biases or batchnorm).
    - dtype: inputs are cast to this dtype before the forward pass.
    """

    def __init__(self, network, reg=0.0, dtype=np.float32):
        if not isinstance(network, Sequential):
            raise TypeError(f"Classifier: network must be a Sequential, "
                            f"got {type(network).__name__}")
        self.network = network
        self.reg = float(reg)
        self.dtype = np.dtype(dtype)

    @property
    def params(self):
        """The network's parameters by name ('0.weight', ...); assignment writes through."""
        return self.network.params

    @params.setter
    def params(self, new_params):
        if set(new_params) != set(self.network.params):
            raise ValueError(f"Classifier: new params have names {sorted(new_params)}, "
                             f"expected {sorted(self.network.params)}")
        for name, value in new_params.items():
            self.network.params[name] = value

    @property
    def bn_params(self):
        """The bn_param dicts of the network's batchnorm layers (running averages)."""
        return self.network.bn_params

    @property
    def config(self):
        """Arguments that rebuild this model (used by save/load); subclasses fill it."""
        return {}

    def _weight_names(self):
        return [name for name in self.params if name.rsplit('.', 1)[-1] == 'weight']

    def loss(self, X, y=None):
        """Class scores, or the loss and its gradients.

        Inputs:
        - X: data, shape (N, ...) as the network expects, e.g. (N, 1, 28, 28).
        - y: labels, shape (N,), integers in [0, C); or None.

        Returns:
        - if y is None: scores, shape (N, C) (batchnorm layers in test mode);
        - else (loss, grads): the mean softmax loss plus the L2 term, and a dict with the
          gradient of every parameter, keys as params.
        """
        X = np.asarray(X, dtype=self.dtype)
        scores = self.network.forward(X, train=y is not None)
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        self.network.backward(dscores)
        grads = self.network.grads
        for name in self._weight_names():
            weight = self.params[name]
            loss += 0.5 * self.reg * float(np.sum(weight * weight))
            grads[name] = grads[name] + self.reg * weight
        return loss, grads

    def save(self, path, metadata=None):
        """Save parameters, batchnorm running averages and config to path (.npz); returns
        the path. metadata: an optional JSON-serializable dict stored alongside."""
        return save_model(path, self.params, self.bn_params, self.config, metadata)

    def load_state(self, path):
        """Load parameters (and running averages) saved by save() into this model, in place.
        The file must hold parameters of the same names and shapes."""
        assign_state(self, read_model_file(path), source=str(path))
        return self

    def __repr__(self):
        return f"{type(self).__name__}(reg={self.reg}, network={self.network!r})"


class LeNet5(Classifier):
    """LeNet-5 (LeCun et al., 1998) with today's choices: ReLU and max pooling.

        conv 6@5x5, pad 2 - relu - pool 2x2
        conv 16@5x5      - relu - pool 2x2 - flatten
        linear 120 - relu - linear 84 - relu - linear num_classes

    For a 28x28 MNIST digit, pad 2 makes the first convolution see the 32x32 input of the
    original network: 28 -> 28 -> 14 -> 10 -> 5, so the flattened features are 16*5*5 = 400.
    The original used tanh-like units and trainable average pooling ("subsampling");
    ReLU and max pooling train faster; pool='avg' gives average pooling.

    Arguments:
    - in_channels: channels of the input (1 for MNIST, 3 for CIFAR-10).
    - num_classes: number of scores.
    - input_size: (H, W) of the input, or an int (default 28).
    - pool: 'max' (default) or 'avg'.
    - reg: L2 regularization strength.
    - weight_scale: None (He initialization, default) or the std of all initial weights.
    - dtype: parameter dtype (default float32).
    - seed: seed of the initial weights.
    """

    def __init__(self, in_channels=1, num_classes=10, input_size=28, pool='max', reg=0.0,
                 weight_scale=None, dtype=np.float32, seed=0):
        if pool not in ('max', 'avg'):
            raise ValueError(f"LeNet5: pool must be 'max' or 'avg', got {pool!r}")
        height, width = (input_size, input_size) if np.ndim(input_size) == 0 else input_size
        self._config = {'in_channels': int(in_channels), 'num_classes': int(num_classes),
                        'input_size': [int(height), int(width)], 'pool': pool,
                        'reg': float(reg), 'weight_scale': weight_scale,
                        'dtype': np.dtype(dtype).name, 'seed': seed}
        rng = np.random.default_rng(seed)
        Pool = MaxPool2d if pool == 'max' else AvgPool2d
        init = {'weight_scale': weight_scale, 'seed': rng, 'dtype': dtype}
        features = Sequential(
            Conv2d(in_channels, 6, 5, pad=2, **init), ReLU(), Pool(2),
            Conv2d(6, 16, 5, **init), ReLU(), Pool(2), Flatten())
        num_features = int(np.prod(features.output_shape((in_channels, height, width))))
        network = Sequential(
            *features.layers,
            Linear(num_features, 120, **init), ReLU(),
            Linear(120, 84, **init), ReLU(),
            Linear(84, num_classes, **init))
        super().__init__(network, reg=reg, dtype=dtype)

    @property
    def config(self):
        return dict(self._config)

    @classmethod
    def load(cls, path):
        """Rebuild a LeNet5 saved with save(path), with its trained parameters."""
        state = read_model_file(path)
        model = cls(**state['config'])
        assign_state(model, state, source=str(path))
        return model
