"""The Solver: trains a classification model with minibatch gradient descent.

The Solver works with any model that has
- ``model.params``: a dict (or dict-like mapping) from parameter name to array;
- ``model.loss(X, y=None)``: class scores of shape (N, C) when y is None, else a tuple
  ``(loss, grads)`` where grads has the same keys as model.params.
Optionally ``model.bn_params``, a list of batchnorm parameter dicts (with running_mean and
running_var): the Solver then keeps the running averages that belong to the best weights.

Example:

    data = {'X_train': ..., 'y_train': ..., 'X_val': ..., 'y_val': ...}
    model = ThreeLayerConvNet(hidden_dim=100)
    solver = Solver(model, data, update_rule='adam', optim_config={'learning_rate': 1e-3},
                    lr_decay=0.95, num_epochs=5, batch_size=100, seed=0)
    solver.train()
    solver.best_val_acc, solver.loss_history, solver.val_acc_history

After train(), model.params holds the parameters that reached the best validation accuracy.
Each parameter is updated by assigning ``model.params[name] = next_w``, so a model may keep
its parameters in any mapping that accepts item assignment.
"""
import copy
from numbers import Integral, Real

import numpy as np
from tqdm.auto import tqdm

from nndl import optim
from nndl.model_io import read_model_file, save_model

REQUIRED_DATA_KEYS = ('X_train', 'y_train', 'X_val', 'y_val')


def smallest_normal(dtype):
    """The smallest positive normal number of a float dtype (about 1.2e-38 in float32);
    below it, numbers are subnormal."""
    return np.finfo(dtype).tiny


def negligible(dtype):
    """eps**2 of a float dtype (1.4e-14 in float32): far below anything that can change a
    float sum of activations, and large enough that the squared weight-decay gradients of
    such weights, (reg * w)**2, are normal numbers for any reg >= 1e-5."""
    return np.finfo(dtype).eps ** 2


# The Solver zeroes tiny parameters and optimizer state at steps 1, 1 + this, 1 + 2 * this...
ZERO_TINY_EVERY = 10


def zero_tiny_entries(values, threshold=smallest_normal):
    """Set the entries of a float array smaller in magnitude than ``threshold(dtype)`` to
    zero, in place; anything else is left alone. Returns its argument.

    Arithmetic on subnormal numbers takes many times longer on many CPUs. In training they
    come from weights that only weight decay pulls on (into a ReLU unit that no longer
    fires, say): Adam shrinks them geometrically, and long before they are subnormal
    themselves, their squared gradients (Adam's second moment) are. Seen here: a CIFAR-10
    training step slowing from 0.21 s in the first epoch to 0.46 s in the seventh. The
    Solver therefore zeroes parameters below ``negligible`` and the subnormal entries of
    the update rule's state after the update of every ZERO_TINY_EVERY-th step.
    """
    if isinstance(values, np.ndarray) and values.dtype.kind == 'f':
        values[np.abs(values) < threshold(values.dtype)] = 0
    return values


class Solver:
    """Trains a model by minibatch gradient descent and tracks its accuracy.

    Required arguments:
    - model: an object with ``params`` and ``loss(X, y=None)`` as described above.
    - data: a dict with 'X_train' (N_train, ...), 'y_train' (N_train,), 'X_val' (N_val, ...)
      and 'y_val' (N_val,), labels integers in [0, C).

    Optional keyword arguments:
    - update_rule: the name of a rule in nndl.optim ('sgd', 'sgd_momentum',
      'sgd_nesterov_momentum', 'rmsprop', 'adam') or a callable with the same signature
      (default 'sgd').
    - optim_config: dict of hyperparameters for the update rule, e.g. {'learning_rate':
      1e-3}; every parameter gets its own copy (default {}).
    - lr_decay: the learning rate is multiplied by this after every epoch (default 1.0).
    - batch_size: examples per minibatch (default 100).
    - num_epochs: passes over the training data (default 10).
    - num_train_samples: training examples used to measure the training accuracy
      (default 1000; None for all of them).
    - num_val_samples: validation examples used to measure the validation accuracy
      (default None: all of them).
    - checkpoint_name: if given, ``<checkpoint_name>_epoch_<epoch>.npz`` (parameters,
      batchnorm running averages and histories; see load_checkpoint) is written at every
      accuracy check.
    - print_every: write the training loss every this many iterations (default 10;
      0 or None: never). Only when verbose.
    - verbose: show a progress bar and the accuracy after every epoch (default True).
    - seed: seed of the random generator that shuffles the training data, subsamples the
      accuracy checks and drives ``augment`` (default 0). The same seed, model and data
      give the same histories, whatever NumPy's global generator was seeded with
      (np.random.seed changes nothing here: see docs/migration.md). None draws a fresh
      seed.
    - augment: optional callable ``augment(X_batch, rng) -> X_batch`` applied to every
      training minibatch (not to accuracy checks), e.g. random flips; rng is a
      np.random.Generator owned by the Solver.

    Each epoch visits the training examples once, in a new random order, in
    N_train // batch_size minibatches (at least one); leftover examples wait for the next
    epoch's shuffle.
    """

    def __init__(self, model, data, **kwargs):
        if not hasattr(model, 'params') or not callable(getattr(model, 'loss', None)):
            raise TypeError("Solver: model needs a 'params' dict and a loss(X, y=None) method, "
                            f"got {type(model).__name__}")
        self.model = model
        self.X_train, self.y_train, self.X_val, self.y_val = _check_data(data)

        self.update_rule = kwargs.pop('update_rule', 'sgd')
        self.optim_config = kwargs.pop('optim_config', {})
        self.lr_decay = kwargs.pop('lr_decay', 1.0)
        self.batch_size = kwargs.pop('batch_size', 100)
        self.num_epochs = kwargs.pop('num_epochs', 10)
        self.num_train_samples = kwargs.pop('num_train_samples', 1000)
        self.num_val_samples = kwargs.pop('num_val_samples', None)
        self.checkpoint_name = kwargs.pop('checkpoint_name', None)
        self.print_every = kwargs.pop('print_every', 10)
        self.verbose = kwargs.pop('verbose', True)
        self.seed = kwargs.pop('seed', 0)
        self.augment = kwargs.pop('augment', None)
        if kwargs:
            raise ValueError(f"Solver: unrecognized arguments {', '.join(sorted(kwargs))}")
        self._check_settings()

        if isinstance(self.update_rule, str):
            self._update = optim.UPDATE_RULES[self.update_rule]
        else:
            self._update = self.update_rule
        self._reset()

    def _check_settings(self):
        """Raise ValueError naming the first setting that cannot work."""
        rule = self.update_rule
        if isinstance(rule, str) and rule not in optim.UPDATE_RULES:
            raise ValueError(f"Solver: unknown update_rule {rule!r}; choose one of "
                             f"{sorted(optim.UPDATE_RULES)} or pass a callable")
        if not isinstance(rule, str) and not callable(rule):
            raise ValueError(f"Solver: update_rule must be a name or a callable, got {rule!r}")
        if not isinstance(self.optim_config, dict):
            raise ValueError(f"Solver: optim_config must be a dict, got {self.optim_config!r}")
        for name in ('batch_size', 'num_epochs'):
            value = getattr(self, name)
            if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Solver: {name} must be a positive integer, got {value!r}")
        for name in ('num_train_samples', 'num_val_samples'):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, Integral) or value < 1):
                raise ValueError(f"Solver: {name} must be a positive integer or None, "
                                 f"got {value!r}")
        if not isinstance(self.lr_decay, Real) or not self.lr_decay > 0:
            raise ValueError(f"Solver: lr_decay must be a positive number, got {self.lr_decay!r}")
        if self.augment is not None and not callable(self.augment):
            raise ValueError(f"Solver: augment must be a callable, got {self.augment!r}")

    def _reset(self):
        """Set up the bookkeeping of a fresh run (called by __init__)."""
        self.epoch = 0
        self.best_val_acc = 0.0
        self.best_params = None
        self._best_bn_state = None
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.optim_configs = {name: copy.deepcopy(self.optim_config)
                              for name in self.model.params}
        shuffle_seed, sample_seed, augment_seed = np.random.SeedSequence(self.seed).spawn(3)
        self._shuffle_rng = np.random.default_rng(shuffle_seed)
        self._sample_rng = np.random.default_rng(sample_seed)
        self._augment_rng = np.random.default_rng(augment_seed)

    # ------------------------------------------------------------------------------------
    # One step, accuracy, checkpoints
    # ------------------------------------------------------------------------------------

    def _step(self, batch_indices):
        """One gradient step on the training examples at batch_indices; returns the loss."""
        X_batch = self.X_train[batch_indices]
        y_batch = self.y_train[batch_indices]
        if self.augment is not None:
            X_batch = self.augment(X_batch, self._augment_rng)

        result = self.model.loss(X_batch, y_batch)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError("Solver: model.loss(X, y) must return a tuple (loss, grads)")
        loss, grads = result
        self.loss_history.append(float(loss))

        # Zeroing tiny entries takes a few passes over every parameter and its state (about
        # 5 % of a CIFAR-10 step); subnormals build up over hundreds of steps, so it is done
        # at the first step and then every ZERO_TINY_EVERY steps.
        zero_tiny = (len(self.loss_history) - 1) % ZERO_TINY_EVERY == 0
        for name, value in list(self.model.params.items()):
            if name not in grads:
                raise KeyError(f"Solver: model.loss returned no gradient for parameter {name!r}")
            next_value, config = self._update(value, grads[name], self.optim_configs[name])
            self.model.params[name] = next_value
            if zero_tiny:
                zero_tiny_entries(next_value, negligible)
                for state in config.values():     # moments, velocities: they decay too
                    zero_tiny_entries(state)
            self.optim_configs[name] = config
        return float(loss)

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """Fraction of examples of X whose predicted class equals y.

        Inputs:
        - X: data, shape (N, ...).
        - y: labels, shape (N,).
        - num_samples: if given and smaller than N, measure on that many examples drawn
          without replacement (by the Solver's seeded generator).
        - batch_size: examples per forward pass (bounds the memory used).

        Returns: the accuracy, a float in [0, 1].
        """
        num_examples = X.shape[0]
        if num_samples is not None and num_samples < num_examples:
            chosen = self._sample_rng.choice(num_examples, num_samples, replace=False)
            X, y = X[chosen], y[chosen]
            num_examples = num_samples
        predictions = np.empty(num_examples, dtype=np.int64)
        for start in range(0, num_examples, batch_size):
            scores = self.model.loss(X[start:start + batch_size])
            predictions[start:start + batch_size] = np.argmax(scores, axis=1)
        return float(np.mean(predictions == y))

    def _bn_params(self):
        return getattr(self.model, 'bn_params', None) or []

    def _remember_best(self, val_acc):
        if self.best_params is None or val_acc > self.best_val_acc:
            self.best_val_acc = val_acc
            self.best_params = {name: np.array(value, copy=True)
                                for name, value in self.model.params.items()}
            self._best_bn_state = [
                {key: np.array(bn_param[key], copy=True)
                 for key in ('running_mean', 'running_var') if key in bn_param}
                for bn_param in self._bn_params()]

    def _restore_best(self):
        """Put the best parameters (and their batchnorm running averages) back in place."""
        if self.best_params is None:
            return
        for name, value in self.best_params.items():
            self.model.params[name] = value.copy()
        for bn_param, state in zip(self._bn_params(), self._best_bn_state):
            bn_param.update({key: value.copy() for key, value in state.items()})

    def _save_checkpoint(self):
        """Write <checkpoint_name>_epoch_<epoch>.npz: the model (as nndl.model_io writes it,
        so e.g. ThreeLayerConvNet.load can read it) and the histories in its metadata."""
        if self.checkpoint_name is None:
            return
        rule = self.update_rule
        metadata = {
            'epoch': self.epoch,
            'best_val_acc': self.best_val_acc,
            'loss_history': self.loss_history,
            'train_acc_history': self.train_acc_history,
            'val_acc_history': self.val_acc_history,
            'solver': {
                'update_rule': rule if isinstance(rule, str) else getattr(rule, '__name__', '?'),
                'optim_config': {key: value for key, value in self.optim_config.items()
                                 if isinstance(value, (int, float, str))},
                'lr_decay': self.lr_decay, 'batch_size': self.batch_size,
                'num_epochs': self.num_epochs, 'seed': self.seed,
            },
        }
        path = save_model(f"{self.checkpoint_name}_epoch_{self.epoch}.npz", self.model.params,
                          bn_params=self._bn_params(),
                          config=getattr(self.model, 'config', None), metadata=metadata)
        if self.verbose:
            tqdm.write(f"Saved checkpoint {path}")

    # ------------------------------------------------------------------------------------
    # Training loop
    # ------------------------------------------------------------------------------------

    def train(self):
        """Run num_epochs epochs of optimization, then restore the best parameters."""
        num_train = self.X_train.shape[0]
        iterations_per_epoch = max(num_train // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch
        start_epoch = self.epoch

        progress = tqdm(total=num_iterations, disable=not self.verbose, unit='batch',
                        desc=f"epoch {start_epoch + 1}/{start_epoch + self.num_epochs}")
        order = None
        for t in range(num_iterations):
            position = t % iterations_per_epoch
            if position == 0:
                order = self._shuffle_rng.permutation(num_train)
            batch = order[position * self.batch_size:(position + 1) * self.batch_size]
            loss = self._step(batch)
            progress.update()
            progress.set_postfix(loss=f"{loss:.4f}", refresh=False)
            if self.verbose and self.print_every and t % self.print_every == 0:
                tqdm.write(f"(Iteration {t + 1} / {num_iterations}) loss: {loss:f}")

            epoch_end = (t + 1) % iterations_per_epoch == 0
            if epoch_end:
                self.epoch += 1
                for config in self.optim_configs.values():
                    if 'learning_rate' in config:
                        config['learning_rate'] *= self.lr_decay
                progress.set_description(
                    f"epoch {min(self.epoch + 1, start_epoch + self.num_epochs)}/"
                    f"{start_epoch + self.num_epochs}")

            if t == 0 or t == num_iterations - 1 or epoch_end:
                train_acc = self.check_accuracy(self.X_train, self.y_train,
                                                num_samples=self.num_train_samples)
                val_acc = self.check_accuracy(self.X_val, self.y_val,
                                              num_samples=self.num_val_samples)
                self.train_acc_history.append(train_acc)
                self.val_acc_history.append(val_acc)
                self._remember_best(val_acc)
                self._save_checkpoint()
                progress.set_postfix(loss=f"{loss:.4f}", val_acc=f"{val_acc:.4f}")
                if self.verbose:
                    tqdm.write(f"(Epoch {self.epoch} / {start_epoch + self.num_epochs}) "
                               f"train acc: {train_acc:f}; val_acc: {val_acc:f}")
        progress.close()
        self._restore_best()


def load_checkpoint(path):
    """Read a checkpoint written by the Solver.

    Returns the dict of nndl.model_io.read_model_file: 'params', 'bn_state', 'config' and
    'metadata', the latter with 'epoch', 'best_val_acc', 'loss_history',
    'train_acc_history', 'val_acc_history' and the 'solver' settings.
    """
    return read_model_file(path)


def _check_data(data):
    """Validate the Solver's data dict; return X_train, y_train, X_val, y_val."""
    if not hasattr(data, 'keys'):
        raise TypeError(f"Solver: data must be a dict, got {type(data).__name__}")
    missing = [key for key in REQUIRED_DATA_KEYS if key not in data]
    if missing:
        raise ValueError(f"Solver: data is missing {', '.join(missing)} "
                         f"(needs {', '.join(REQUIRED_DATA_KEYS)})")
    arrays = []
    for split in ('train', 'val'):
        X, y = np.asarray(data[f'X_{split}']), np.asarray(data[f'y_{split}'])
        if X.ndim < 2 or X.shape[0] == 0:
            raise ValueError(f"Solver: X_{split} must have shape (N, ...) with N >= 1, "
                             f"got {X.shape}")
        if y.shape != (X.shape[0],):
            raise ValueError(f"Solver: y_{split} must have shape ({X.shape[0]},) to match "
                             f"X_{split} {X.shape}, got {y.shape}")
        if not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"Solver: y_{split} must hold integer labels, got dtype {y.dtype}")
        arrays += [X, y]
    if arrays[0].shape[1:] != arrays[2].shape[1:]:
        raise ValueError(f"Solver: X_train examples have shape {arrays[0].shape[1:]} but "
                         f"X_val examples {arrays[2].shape[1:]}")
    return tuple(arrays)
