"""Tests of utils.solver: sampling, determinism, best parameters, checkpoints, errors."""
import numpy as np
import pytest

from nndl.layers import affine_backward, affine_forward, softmax_loss
from utils.solver import Solver, load_checkpoint


class SoftmaxRegression:
    """A linear classifier: the smallest real model the Solver can train."""

    def __init__(self, num_features, num_classes, seed=0):
        rng = np.random.default_rng(seed)
        self.params = {'W': 1e-3 * rng.standard_normal((num_features, num_classes)),
                       'b': np.zeros(num_classes)}

    def loss(self, X, y=None):
        scores, cache = affine_forward(X, self.params['W'], self.params['b'])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        _, dW, db = affine_backward(dscores, cache)
        return loss, {'W': dW, 'b': db}


class StepCounter:
    """A scripted model: every training step adds 1 to params['count'] (with sgd and
    learning rate 1), and its predictions are right only while count == good_count.
    Its batchnorm running mean records the count too. It logs the batches it trains on."""

    def __init__(self, good_count):
        self.params = {'count': np.zeros(1)}
        self.bn_params = [{'running_mean': np.zeros(1), 'running_var': np.ones(1)}]
        self.good_count = good_count
        self.batches = []

    def loss(self, X, y=None):
        if y is None:
            right = int(round(self.params['count'][0])) == self.good_count
            scores = np.zeros((X.shape[0], 2))
            scores[:, 0 if right else 1] = 1.0  # every label in these tests is 0
            return scores
        self.batches.append(X[:, 0].copy())
        self.bn_params[0]['running_mean'] = self.params['count'] + 1
        return 0.0, {'count': -np.ones(1)}


def blobs(num_examples, seed=0):
    """Two well separated Gaussian blobs in 5 dimensions, labels 0 and 1."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=num_examples)
    X = rng.standard_normal((num_examples, 5)) + 3.0 * (2 * y[:, None] - 1)
    return X, y


@pytest.fixture
def blob_data():
    X, y = blobs(240)
    return {'X_train': X[:200], 'y_train': y[:200], 'X_val': X[200:], 'y_val': y[200:]}


def index_data(num_train, num_val=4):
    """Examples whose only feature is their index; all labels 0."""
    return {'X_train': np.arange(num_train, dtype=float)[:, None],
            'y_train': np.zeros(num_train, dtype=int),
            'X_val': np.zeros((num_val, 1)), 'y_val': np.zeros(num_val, dtype=int)}


def train_softmax(data, **kwargs):
    model = SoftmaxRegression(5, 2)
    settings = dict(update_rule='sgd', optim_config={'learning_rate': 0.1}, num_epochs=3,
                    batch_size=20, verbose=False)
    settings.update(kwargs)
    solver = Solver(model, data, **settings)
    solver.train()
    return model, solver


def test_solver_trains_a_linear_classifier(blob_data):
    model, solver = train_softmax(blob_data)
    assert solver.loss_history[-1] < 0.5 * solver.loss_history[0]
    assert solver.best_val_acc == 1.0
    assert solver.check_accuracy(blob_data['X_train'], blob_data['y_train']) > 0.95


def test_histories_have_one_entry_per_step_and_per_epoch(blob_data):
    _, solver = train_softmax(blob_data, num_epochs=3, batch_size=20)
    assert len(solver.loss_history) == 3 * (200 // 20)
    # One accuracy check after the first step, then one per epoch.
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 3 + 1
    assert solver.epoch == 3


def test_same_seed_same_run_and_other_seed_other_run(blob_data):
    model_a, run_a = train_softmax(blob_data, seed=3, update_rule='adam',
                                   optim_config={'learning_rate': 1e-2})
    model_b, run_b = train_softmax(blob_data, seed=3, update_rule='adam',
                                   optim_config={'learning_rate': 1e-2})
    _, run_c = train_softmax(blob_data, seed=4, update_rule='adam',
                             optim_config={'learning_rate': 1e-2})
    assert run_a.loss_history == run_b.loss_history
    assert run_a.val_acc_history == run_b.val_acc_history
    np.testing.assert_array_equal(model_a.params['W'], model_b.params['W'])
    assert run_a.loss_history != run_c.loss_history


def test_each_epoch_visits_every_example_once_in_a_new_order():
    model = StepCounter(good_count=0)
    solver = Solver(model, index_data(12), update_rule='sgd',
                    optim_config={'learning_rate': 1.0}, batch_size=4, num_epochs=2,
                    verbose=False)
    solver.train()
    assert len(model.batches) == 6
    first_epoch = np.concatenate(model.batches[:3])
    second_epoch = np.concatenate(model.batches[3:])
    np.testing.assert_array_equal(np.sort(first_epoch), np.arange(12))
    np.testing.assert_array_equal(np.sort(second_epoch), np.arange(12))
    assert not np.array_equal(first_epoch, second_epoch)
    assert not np.array_equal(first_epoch, np.arange(12))


def test_best_parameters_and_their_running_averages_are_restored():
    # One step per epoch: the count after epoch k is k, and only count 2 predicts right.
    model = StepCounter(good_count=2)
    solver = Solver(model, index_data(3), update_rule='sgd',
                    optim_config={'learning_rate': 1.0}, batch_size=10, num_epochs=5,
                    verbose=False)
    solver.train()
    assert solver.val_acc_history == [0.0, 1.0, 0.0, 0.0, 0.0]
    assert solver.best_val_acc == 1.0
    assert model.params['count'][0] == 2.0           # not the final count 5
    assert model.bn_params[0]['running_mean'][0] == 2.0
    assert solver.best_params['count'][0] == 2.0


def test_lr_decay_is_applied_once_per_epoch(blob_data):
    _, solver = train_softmax(blob_data, num_epochs=3, lr_decay=0.5,
                              optim_config={'learning_rate': 0.1})
    for config in solver.optim_configs.values():
        assert config['learning_rate'] == pytest.approx(0.1 * 0.5 ** 3)


def test_checkpoint_written_at_every_check(blob_data, tmp_path):
    name = tmp_path / 'run'
    model, solver = train_softmax(blob_data, num_epochs=2, checkpoint_name=str(name))
    for epoch in (0, 1, 2):
        assert (tmp_path / f'run_epoch_{epoch}.npz').is_file()
    last = load_checkpoint(tmp_path / 'run_epoch_2.npz')
    assert last['metadata']['epoch'] == 2
    assert last['metadata']['loss_history'] == solver.loss_history
    assert last['metadata']['val_acc_history'] == solver.val_acc_history
    assert last['metadata']['solver']['update_rule'] == 'sgd'
    assert set(last['params']) == {'W', 'b'}
    assert last['params']['W'].shape == (5, 2)


def test_update_rule_may_be_a_callable(blob_data):
    calls = []

    def halve(w, dw, config=None):
        calls.append(w.shape)
        return w / 2, config

    train_softmax(blob_data, update_rule=halve, num_epochs=1)
    assert len(calls) == 2 * (200 // 20)  # W and b at every step


def test_negligible_weights_and_subnormal_optimizer_state_become_zero(blob_data):
    # Subnormal floats make every product they enter many times slower. After each update
    # the Solver zeroes parameters below eps**2 of their dtype (float32: 1.4e-14) and
    # subnormal entries of the update rule's state (float32: below 1.18e-38).
    model = SoftmaxRegression(5, 2)
    for name in model.params:
        model.params[name] = model.params[name].astype(np.float32)
    model.params['W'][0] = [1e-15, -3e-39]
    model.params['W'][1] = [2e-14, -1e-13]

    def keep(w, dw, config=None):
        if 'm' not in config:
            config.update(m=np.float32([5e-39, 1e-30]), rate=1e-39)
        return w.copy(), config

    solver = Solver(model, blob_data, update_rule=keep, num_epochs=1, batch_size=200,
                    verbose=False)
    solver.train()
    assert model.params['W'].dtype == np.float32
    assert np.array_equal(model.params['W'][0], [0.0, 0.0])
    assert np.array_equal(model.params['W'][1], np.float32([2e-14, -1e-13]))
    assert np.array_equal(solver.optim_configs['W']['m'], np.float32([0.0, 1e-30]))
    assert solver.optim_configs['W']['rate'] == 1e-39   # a number in the config is its own


def test_tiny_entries_are_zeroed_at_the_first_step_and_then_every_tenth(blob_data):
    from utils.solver import ZERO_TINY_EVERY
    assert ZERO_TINY_EVERY == 10
    model = SoftmaxRegression(5, 2)
    model.params['W'] = model.params['W'].astype(np.float32)
    zeroed_at = []

    def plant_a_tiny_weight(w, dw, config=None):
        # Runs at every step: was the tiny weight planted at the last step zeroed since?
        config = {} if config is None else config
        if w.shape == (5, 2):
            config['step'] = config.get('step', 0) + 1
            if config['step'] > 1 and w[0, 0] == 0:
                zeroed_at.append(config['step'] - 1)
            w = w.copy()
            w[0, 0] = 1e-20
        return w, config

    solver = Solver(model, blob_data, update_rule=plant_a_tiny_weight, num_epochs=5,
                    batch_size=20, verbose=False)   # 10 steps an epoch, 50 in all
    solver.train()
    assert zeroed_at == [1, 11, 21, 31, 41]


def test_augment_sees_every_training_batch_and_no_check():
    seen = []

    def negate(X, rng):
        assert isinstance(rng, np.random.Generator)
        seen.append(len(X))
        return -X

    model = StepCounter(good_count=0)
    Solver(model, index_data(8), update_rule='sgd', optim_config={'learning_rate': 1.0},
           batch_size=4, num_epochs=2, augment=negate, verbose=False).train()
    assert seen == [4, 4, 4, 4]
    assert all(np.all(batch <= 0) for batch in model.batches)


def test_check_accuracy_counts_right_predictions():
    model = SoftmaxRegression(2, 2)
    model.params['W'] = np.eye(2)                   # predicts argmax of the features
    X = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0], [0.0, 3.0]])
    solver = Solver(model, {'X_train': X, 'y_train': np.zeros(4, int), 'X_val': X,
                            'y_val': np.zeros(4, int)}, verbose=False)
    assert solver.check_accuracy(X, np.array([0, 1, 0, 0]), batch_size=3) == 0.75
    assert solver.check_accuracy(X, np.array([0, 1, 0, 1]), num_samples=2) == 1.0


@pytest.mark.parametrize('change, message', [
    (lambda data: data.pop('y_val'), 'missing y_val'),
    (lambda data: data.update(y_train=data['y_train'][:-1]), 'y_train must have shape'),
    (lambda data: data.update(y_val=data['y_val'].astype(float)), 'integer labels'),
    (lambda data: data.update(X_val=data['X_val'][:, :3]), 'X_val examples'),
    (lambda data: data.update(X_train=data['X_train'][:0], y_train=data['y_train'][:0]),
     'N >= 1'),
])
def test_bad_data_is_named(blob_data, change, message):
    change(blob_data)
    with pytest.raises(ValueError, match=message):
        Solver(SoftmaxRegression(5, 2), blob_data)


@pytest.mark.parametrize('settings, message', [
    ({'update_rule': 'adamw'}, "unknown update_rule 'adamw'"),
    ({'batch_size': 0}, 'batch_size must be a positive integer'),
    ({'num_epochs': 2.5}, 'num_epochs must be a positive integer'),
    ({'lr_decay': -1}, 'lr_decay must be a positive number'),
    ({'learning_rate': 1e-3}, 'unrecognized arguments learning_rate'),
])
def test_bad_settings_are_named(blob_data, settings, message):
    with pytest.raises(ValueError, match=message):
        Solver(SoftmaxRegression(5, 2), blob_data, **settings)
