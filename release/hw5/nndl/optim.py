"""First-order update rules for training networks.

Every rule has the same signature:

    next_w, config = update(w, dw, config=None)

- w: the current value of one parameter (an array of any shape).
- dw: the gradient of the loss with respect to w (same shape).
- config: a dict of hyperparameters (learning rate, momentum, ...) and of the state the
  rule carries from one step to the next (velocity, moving averages, step counter).
  Missing hyperparameters get the defaults listed in each docstring; missing state starts
  at zero. Pass the returned config back in at the next step of the same parameter.

The returned next_w has the dtype of w (a float32 parameter stays float32), and the state
arrays in config have it too. The Solver (utils.solver) keeps one config per parameter.
"""
import numpy as np


def _float_dtype(w):
    """The dtype updates are kept in: that of w if floating, else float64."""
    w = np.asarray(w)
    return w.dtype if np.issubdtype(w.dtype, np.floating) else np.dtype(np.float64)


def _state(config, key, w):
    """The state array config[key], created as zeros shaped like w if absent."""
    if key not in config:
        config[key] = np.zeros(np.shape(w), dtype=_float_dtype(w))
    return config[key]


def _check_shapes(w, dw):
    if np.shape(w) != np.shape(dw):
        raise ValueError(f"update rule: w has shape {np.shape(w)} but dw has shape "
                         f"{np.shape(dw)}")


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: w <- w - learning_rate * dw.

    config:
    - learning_rate: step size (default 1e-2).
    """
    _check_shapes(w, dw)
    config = {} if config is None else config
    config.setdefault('learning_rate', 1e-2)
    next_w = w - config['learning_rate'] * dw
    return next_w.astype(_float_dtype(w), copy=False), config


def sgd_momentum(w, dw, config=None):
    """Stochastic gradient descent with momentum.

    The velocity v is a running, decaying sum of past steps:
        v <- momentum * v - learning_rate * dw
        w <- w + v

    config:
    - learning_rate: step size (default 1e-2).
    - momentum: fraction of the previous velocity kept, in [0, 1) (default 0.9);
      0 gives plain SGD.
    - velocity: state, shape of w (starts at zero).
    """
    _check_shapes(w, dw)
    config = {} if config is None else config
    config.setdefault('learning_rate', 1e-2)
    config.setdefault('momentum', 0.9)
    dtype = _float_dtype(w)
    velocity = _state(config, 'velocity', w)
    velocity = config['momentum'] * velocity - config['learning_rate'] * dw
    config['velocity'] = velocity.astype(dtype, copy=False)
    next_w = w + config['velocity']
    return next_w.astype(dtype, copy=False), config


def sgd_nesterov_momentum(w, dw, config=None):
    """Stochastic gradient descent with Nesterov momentum.

    The gradient is taken at the look-ahead point w + momentum * v; written in terms of
    the parameters after the look-ahead (the form that needs only dw at w):
        v_prev = v
        v <- momentum * v - learning_rate * dw
        w <- w + v + momentum * (v - v_prev)

    config:
    - learning_rate: step size (default 1e-2).
    - momentum: fraction of the previous velocity kept, in [0, 1) (default 0.9).
    - velocity: state, shape of w (starts at zero).
    """
    _check_shapes(w, dw)
    config = {} if config is None else config
    config.setdefault('learning_rate', 1e-2)
    config.setdefault('momentum', 0.9)
    dtype = _float_dtype(w)
    momentum = config['momentum']
    previous = _state(config, 'velocity', w)
    velocity = momentum * previous - config['learning_rate'] * dw
    config['velocity'] = velocity.astype(dtype, copy=False)
    next_w = w + velocity + momentum * (velocity - previous)
    return next_w.astype(dtype, copy=False), config


def rmsprop(w, dw, config=None):
    """RMSProp: divide each step by a moving average of the squared gradients.

        cache <- decay_rate * cache + (1 - decay_rate) * dw**2
        w <- w - learning_rate * dw / (sqrt(cache) + epsilon)

    Parameters whose gradients are large get smaller steps, and the other way round.

    config:
    - learning_rate: step size (default 1e-2).
    - decay_rate: weight of the old average, in [0, 1) (default 0.99).
    - epsilon: keeps the division finite (default 1e-8).
    - cache: state, the moving average of dw**2, shape of w (starts at zero).
    """
    _check_shapes(w, dw)
    config = {} if config is None else config
    config.setdefault('learning_rate', 1e-2)
    config.setdefault('decay_rate', 0.99)
    config.setdefault('epsilon', 1e-8)
    dtype = _float_dtype(w)
    decay = config['decay_rate']
    cache = decay * _state(config, 'cache', w) + (1 - decay) * dw * dw
    config['cache'] = cache.astype(dtype, copy=False)
    next_w = w - config['learning_rate'] * dw / (np.sqrt(cache) + config['epsilon'])
    return next_w.astype(dtype, copy=False), config


def adam(w, dw, config=None):
    """Adam: momentum on the gradient and RMSProp-style scaling, both bias-corrected.

        t <- t + 1
        m <- beta1 * m + (1 - beta1) * dw            (first moment, the mean)
        v <- beta2 * v + (1 - beta2) * dw**2         (second moment)
        m_hat = m / (1 - beta1**t),  v_hat = v / (1 - beta2**t)
        w <- w - learning_rate * m_hat / (sqrt(v_hat) + epsilon)

    m and v start at zero, which biases them towards zero in the first steps; dividing
    by (1 - beta**t) removes that bias.

    config:
    - learning_rate: step size (default 1e-3).
    - beta1: decay of the first moment (default 0.9).
    - beta2: decay of the second moment (default 0.999).
    - epsilon: keeps the division finite (default 1e-8).
    - m, v: state, shape of w (start at zero; updated in place).
    - t: number of steps taken so far (starts at 0; incremented before use).
    """
    _check_shapes(w, dw)
    config = {} if config is None else config
    config.setdefault('learning_rate', 1e-3)
    config.setdefault('beta1', 0.9)
    config.setdefault('beta2', 0.999)
    config.setdefault('epsilon', 1e-8)
    config.setdefault('t', 0)
    dtype = _float_dtype(w)
    beta1, beta2 = config['beta1'], config['beta2']
    config['t'] += 1
    t = config['t']
    # The moments are updated in place (they are arrays of the size of w: making new ones
    # at every step of every parameter costs time), and kept in the dtype of w.
    m = _state(config, 'm', w).astype(dtype, copy=False)
    v = _state(config, 'v', w).astype(dtype, copy=False)
    m *= beta1
    m += (1 - beta1) * dw
    v *= beta2
    v += (1 - beta2) * np.square(dw)
    config['m'], config['v'] = m, v
    # m_hat / (sqrt(v_hat) + epsilon), with the bias corrections m_hat = m / (1 - beta1**t)
    # and v_hat = v / (1 - beta2**t) applied as scalars.
    denominator = np.sqrt(v)
    denominator *= 1 / np.sqrt(1 - beta2 ** t)
    denominator += config['epsilon']
    step = m * (config['learning_rate'] / (1 - beta1 ** t))
    step /= denominator
    next_w = w - step
    return next_w.astype(dtype, copy=False), config


UPDATE_RULES = {'sgd': sgd, 'sgd_momentum': sgd_momentum,
                'sgd_nesterov_momentum': sgd_nesterov_momentum, 'rmsprop': rmsprop, 'adam': adam}
"""The update rules by name, as the Solver's ``update_rule`` argument accepts them."""
