"""Numeric gradients by centered differences, and the relative error used to compare them.

Use these to check a backward pass: compute the analytic gradient with your code, the
numeric one with these functions, and look at ``rel_error`` of the two (about 1e-7 or
less in float64 means they agree).
"""
import numpy as np


def rel_error(x, y):
    """Largest relative difference between two arrays, ``|x - y| / max(1e-8, |x| + |y|)``.

    Raises ValueError if the shapes differ, so a wrong shape is never mistaken for a
    small error.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"rel_error: shapes differ, {x.shape} vs {y.shape}")
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def eval_numerical_gradient(f, x, verbose=True, h=1e-5):
    """Numeric gradient of a scalar function ``f`` at ``x``.

    Inputs:
    - f: function of one array argument returning a scalar.
    - x: array (any shape, float64 recommended) at which to evaluate the gradient; it is
      perturbed in place one entry at a time and restored.
    - verbose: print one line per entry, its index and its gradient (``(0, 1) 0.25``), as
      CS231n's version does; pass verbose=False for large arrays.
    - h: step of the centered difference (f(x + h) - f(x - h)) / 2h.

    Returns: the gradient, an array of the shape of x.
    """
    if isinstance(verbose, (float, np.floating)):
        raise TypeError(f"eval_numerical_gradient: verbose must be True or False, got "
                        f"{verbose!r}; pass the step as h={verbose!r}")
    grad = np.zeros_like(x, dtype=np.float64)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        f_plus = f(x)
        x[index] = original - h
        f_minus = f(x)
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * h)
        if verbose:
            print(index, grad[index])
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Numeric gradient of ``sum(f(x) * df)`` at ``x``: what a backward pass returns.

    Inputs:
    - f: function of one array argument returning an array (the layer's output).
    - x: array at which to evaluate; perturbed in place one entry at a time and restored.
    - df: upstream gradient, an array of the shape of f(x).
    - h: step of the centered difference.

    Returns: the gradient with respect to x, an array of the shape of x.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        out_plus = np.array(f(x), dtype=np.float64)
        x[index] = original - h
        out_minus = np.array(f(x), dtype=np.float64)
        x[index] = original
        grad[index] = np.sum((out_plus - out_minus) * df) / (2 * h)
    return grad


def eval_numerical_gradient_blobs(f, inputs, output, h=1e-5):
    """Numeric gradients for functions that read and write "blobs", as in CS231n.

    A blob is any object with two arrays of the same shape: ``vals`` (its value) and
    ``diffs`` (a gradient). ``f(*inputs)`` reads the vals of the input blobs and writes
    the vals of ``output``; ``output.diffs`` is the upstream gradient.

    Returns: a list with, for each input blob, the numeric gradient of
    ``sum(output.vals * output.diffs)`` with respect to its vals (an array of their
    shape). Every input is perturbed in place one entry at a time and restored.
    """
    grads = []
    for blob in inputs:
        grad = np.zeros_like(blob.vals, dtype=np.float64)
        for index in np.ndindex(blob.vals.shape):
            original = blob.vals[index]
            blob.vals[index] = original + h
            f(*inputs)
            out_plus = np.array(output.vals, dtype=np.float64)
            blob.vals[index] = original - h
            f(*inputs)
            out_minus = np.array(output.vals, dtype=np.float64)
            blob.vals[index] = original
            grad[index] = np.sum((out_plus - out_minus) * output.diffs) / (2 * h)
        grads.append(grad)
    return grads


def eval_numerical_gradient_net(net, inputs, output, h=1e-5):
    """eval_numerical_gradient_blobs for a ``net`` whose ``forward()`` (no arguments)
    reads the input blobs and writes ``output``."""
    return eval_numerical_gradient_blobs(lambda *args: net.forward(), inputs, output, h=h)


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, seed=0):
    """Compare an analytic gradient with numeric ones at a few random entries of x.

    Useful when x is too large to check every entry. For each of ``num_checks`` entries
    (drawn with a generator seeded by ``seed``) prints, as CS231n's version does,

        numerical: 1.234567 analytic: 1.234567, relative error: 1.234567e-09

    and returns the list of relative errors, one per checked entry. x is perturbed in
    place and restored.
    """
    rng = np.random.default_rng(seed)
    errors = []
    for _ in range(num_checks):
        index = tuple(int(rng.integers(size)) for size in x.shape)
        original = x[index]
        x[index] = original + h
        f_plus = f(x)
        x[index] = original - h
        f_minus = f(x)
        x[index] = original
        numeric = (f_plus - f_minus) / (2 * h)
        analytic = analytic_grad[index]
        error = abs(numeric - analytic) / max(1e-8, abs(numeric) + abs(analytic))
        print(f"numerical: {numeric:f} analytic: {analytic:f}, relative error: {error:e}")
        errors.append(error)
    return errors
