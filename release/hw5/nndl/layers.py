"""Fully connected building blocks: affine, ReLU, batch normalization, dropout, and the
softmax and multiclass SVM losses.

Every layer is a pair of functions. ``*_forward`` returns ``(out, cache)``;
``*_backward`` takes the upstream gradient ``dout`` and that cache and returns
the gradients with respect to each input, in the order the forward pass took them.
These are provided to students complete; the convolutional layers in
``nndl.conv_layers`` are theirs to write.
"""
import numpy as np


def affine_forward(x, w, b):
    """Affine (fully connected) layer: ``out = x.reshape(N, D) @ w + b``.

    Inputs:
    - x: array of shape (N, d_1, ..., d_k); each example is flattened to D = d_1 * ... * d_k.
    - w: weights, shape (D, M).
    - b: biases, shape (M,).

    Returns:
    - out: shape (N, M).
    - cache: (x, w, b).
    """
    num_features = int(np.prod(x.shape[1:]))
    if w.ndim != 2 or w.shape[0] != num_features:
        raise ValueError(
            f"affine_forward: x has {num_features} features per example "
            f"(shape {x.shape}) but w has shape {w.shape}; expected ({num_features}, M)")
    out = x.reshape(x.shape[0], num_features) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    """Backward pass of :func:`affine_forward`.

    Inputs:
    - dout: upstream gradient, shape (N, M).
    - cache: (x, w, b) from the forward pass.

    Returns:
    - dx: shape of x, (N, d_1, ..., d_k).
    - dw: shape (D, M).
    - db: shape (M,).
    """
    x, w, _ = cache
    x_flat = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x_flat.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    """Rectified linear unit, elementwise ``max(0, x)``.

    Input x: any shape. Returns (out, cache) with out of the shape of x and cache = x.
    """
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """Backward pass of :func:`relu_forward`: the gradient flows where x > 0.

    Inputs: dout of any shape, cache = x of the same shape. Returns dx, shape of x.
    """
    x = cache
    return dout * (x > 0)


def log_softmax(scores):
    """Numerically stable log-softmax over the last axis.

    Subtracting the row maximum before exponentiating changes nothing mathematically
    but keeps ``exp`` from overflowing. Input scores: shape (N, C). Returns shape (N, C).
    """
    shifted = scores - scores.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _check_scores_and_labels(function, scores, y):
    """Return y as an array after checking scores (N, C) and integer labels y (N,) in [0, C)."""
    if np.ndim(scores) != 2:
        raise ValueError(f"{function}: scores must be (N, C), got shape {np.shape(scores)}")
    num_examples, num_classes = scores.shape
    y = np.asarray(y)
    if y.size and not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{function}: labels must be integers, got dtype {y.dtype}")
    if y.shape != (num_examples,):
        raise ValueError(f"{function}: y has shape {y.shape}, expected ({num_examples},)")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"{function}: labels must lie in [0, {num_classes}), got "
                         f"min {y.min()} and max {y.max()}")
    return y


def svm_loss(scores, y):
    """Mean multiclass SVM (hinge) loss with margin 1, and its gradient.

    For example i, every wrong class c with scores[i, c] > scores[i, y[i]] - 1 adds
    scores[i, c] - scores[i, y[i]] + 1 to the loss.

    Inputs:
    - scores: class scores, shape (N, C).
    - y: integer labels, shape (N,), with 0 <= y[i] < C.

    Returns:
    - loss: scalar, the sum of the margins above divided by N.
    - dscores: gradient of the loss with respect to scores, shape (N, C).
    """
    y = _check_scores_and_labels('svm_loss', scores, y)
    num_examples = scores.shape[0]
    rows = np.arange(num_examples)
    margins = np.maximum(0, scores - scores[rows, y][:, None] + 1.0)
    margins[rows, y] = 0
    loss = margins.sum() / num_examples
    positive = (margins > 0).astype(np.result_type(scores, np.float32))
    positive[rows, y] = -positive.sum(axis=1)
    dscores = positive / num_examples
    return loss, dscores


def softmax_loss(scores, y):
    """Mean softmax cross-entropy loss and its gradient.

    Inputs:
    - scores: class scores, shape (N, C); scores[i, c] is the score of class c for example i.
    - y: integer labels, shape (N,), with 0 <= y[i] < C.

    Returns:
    - loss: scalar, the mean over examples of -log softmax(scores)[i, y[i]].
    - dscores: gradient of the loss with respect to scores, shape (N, C).
    """
    y = _check_scores_and_labels('softmax_loss', scores, y)
    num_examples = scores.shape[0]
    log_probs = log_softmax(scores)
    rows = np.arange(num_examples)
    loss = -log_probs[rows, y].mean()
    dscores = np.exp(log_probs)
    dscores[rows, y] -= 1
    dscores /= num_examples
    return loss, dscores


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization of each feature over the examples of a minibatch.

    In 'train' mode the minibatch mean and (biased) variance normalize x, and the running
    averages in bn_param are updated in place:
        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
    (likewise running_var). In 'test' mode the running averages are used instead, so the
    output for one example does not depend on the rest of the batch.

    Inputs:
    - x: data, shape (N, D).
    - gamma: scale, shape (D,).
    - beta: shift, shape (D,).
    - bn_param: dict with
      - 'mode': 'train' or 'test' (required);
      - 'eps': added to the variance for numerical stability (default 1e-5);
      - 'momentum': weight of the old running average (default 0.9);
      - 'running_mean', 'running_var': shape (D,); created as zeros and ones if absent.

    Returns:
    - out: shape (N, D).
    - cache: what batchnorm_backward needs (None in test mode).
    """
    mode = bn_param.get('mode')
    if mode not in ('train', 'test'):
        raise ValueError(f"bn_param['mode'] must be 'train' or 'test', got {mode!r}")
    eps = bn_param.get('eps', 1e-5)
    momentum = bn_param.get('momentum', 0.9)
    num_features = x.shape[1]
    running_mean = bn_param.get('running_mean', np.zeros(num_features, dtype=x.dtype))
    running_var = bn_param.get('running_var', np.ones(num_features, dtype=x.dtype))

    if mode == 'train':
        sample_mean = x.mean(axis=0)
        x_hat = x - sample_mean
        # The variance of each column: the mean of the squared centred values
        # (einsum sums the squares without making an array of them).
        sample_var = np.einsum('ij,ij->j', x_hat, x_hat) / x.shape[0]
        inv_std = 1.0 / np.sqrt(sample_var + eps)
        x_hat *= inv_std              # in place: x_hat is a new array, not x
        out = gamma * x_hat + beta
        cache = (x_hat, gamma, inv_std)
        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
        running_var = momentum * running_var + (1 - momentum) * sample_var
    else:
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * x_hat + beta
        cache = None

    bn_param['running_mean'] = running_mean
    bn_param['running_var'] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    """Backward pass of :func:`batchnorm_forward` in train mode.

    Inputs:
    - dout: upstream gradient, shape (N, D).
    - cache: from batchnorm_forward.

    Returns:
    - dx: shape (N, D).
    - dgamma: shape (D,).
    - dbeta: shape (D,).
    """
    if cache is None:
        raise ValueError("batchnorm_backward needs a cache from a forward pass in 'train' mode")
    x_hat, gamma, inv_std = cache
    num_examples = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = np.einsum('ij,ij->j', dout, x_hat)
    # With dx_hat = dout * gamma, the gradient is
    #     dx = inv_std * (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)),
    # the two means coming from the mean and variance, which depend on every example.
    # Per column, mean(dx_hat) = gamma * dbeta / N and mean(dx_hat * x_hat) =
    # gamma * dgamma / N, so dx = gamma * inv_std * (dout - dbeta / N - x_hat * dgamma / N).
    dx = x_hat * (dgamma / num_examples)
    np.subtract(dout, dx, out=dx)
    dx -= dbeta / num_examples
    dx *= gamma * inv_std
    return dx, dgamma, dbeta


def dropout_forward(x, dropout_param):
    """Inverted dropout: in 'train' mode keep each input with probability p and divide the
    kept ones by p, so that the expected output equals the input; in 'test' mode pass the
    input through unchanged.

    Inputs:
    - x: data, any shape.
    - dropout_param: dict with
      - 'p': probability of keeping each input, in (0, 1] (CS231n since 2017; see
        docs/migration.md for the older convention where p was the drop probability);
      - 'mode': 'train' or 'test' (required);
      - 'seed' (optional): seed of the generator that draws the mask, for a mask that is
        the same at every call (gradient checks). Without it the mask is drawn from
        NumPy's global generator, so np.random.seed makes a run reproducible.

    Returns:
    - out: shape of x.
    - cache: (dropout_param, mask); mask (shape of x, the dtype of out) holds 1 / p where
      an input was kept and 0 where it was dropped; None in 'test' mode.
    """
    mode = dropout_param.get('mode')
    if mode not in ('train', 'test'):
        raise ValueError(f"dropout_param['mode'] must be 'train' or 'test', got {mode!r}")
    keep = dropout_param.get('p')
    if keep is None or not 0 < keep <= 1:
        raise ValueError(f"dropout_param['p'] must be a keep probability in (0, 1], got {keep!r}")
    if mode == 'test':
        return x, (dropout_param, None)
    if 'seed' in dropout_param:
        uniform = np.random.default_rng(dropout_param['seed']).random(np.shape(x))
    else:
        uniform = np.random.random_sample(np.shape(x))
    dtype = np.result_type(x, np.float32)
    mask = (uniform < keep).astype(dtype) / dtype.type(keep)
    out = (x * mask).astype(dtype, copy=False)
    return out, (dropout_param, mask)


def dropout_backward(dout, cache):
    """Backward pass of :func:`dropout_forward`.

    Inputs: dout (shape of x) and the cache of the forward pass.
    Returns: dx, shape of x: dout * mask in 'train' mode, dout in 'test' mode.
    """
    dropout_param, mask = cache
    if dropout_param['mode'] == 'test':
        return dout
    return dout * mask
