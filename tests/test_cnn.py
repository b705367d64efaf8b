"""Tests of nndl.cnn.ThreeLayerConvNet: loss, gradients, overfitting, shapes, save/load."""
import numpy as np
import pytest

from nndl.cnn import ThreeLayerConvNet
from utils.solver import Solver
from utils.gradient_check import eval_numerical_gradient, rel_error

TINY = dict(input_dim=(2, 6, 5), num_filters=3, filter_size=3, hidden_dim=7, num_classes=4)


def tiny_batch(num_examples=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((num_examples, *TINY['input_dim']))
    y = rng.integers(0, TINY['num_classes'], size=num_examples)
    return X, y


def test_initial_loss_is_log_num_classes_with_small_weights():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3, 8, 8))
    y = rng.integers(0, 10, size=20)
    model = ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=4, hidden_dim=10,
                              weight_scale=1e-3, reg=0.0, dtype=np.float64)
    loss, _ = model.loss(X, y)
    assert abs(loss - np.log(10)) < 1e-3


def test_regularization_adds_half_reg_times_squared_weights():
    X, y = tiny_batch()
    plain = ThreeLayerConvNet(**TINY, weight_scale=0.1, reg=0.0, dtype=np.float64)
    regularized = ThreeLayerConvNet(**TINY, weight_scale=0.1, reg=0.7, dtype=np.float64)
    loss_plain, _ = plain.loss(X, y)
    loss_reg, _ = regularized.loss(X, y)
    weights = sum(np.sum(regularized.params[name] ** 2) for name in ('W1', 'W2', 'W3'))
    assert loss_reg > loss_plain
    assert loss_reg - loss_plain == pytest.approx(0.5 * 0.7 * weights, rel=1e-10)


@pytest.mark.parametrize('use_batchnorm', [False, True])
def test_numeric_gradient_of_every_parameter(use_batchnorm):
    X, y = tiny_batch()
    model = ThreeLayerConvNet(**TINY, weight_scale=0.2, reg=0.05, dtype=np.float64,
                              use_batchnorm=use_batchnorm, seed=1)
    _, grads = model.loss(X, y)
    expected = {'W1', 'b1', 'W2', 'b2', 'W3', 'b3'}
    if use_batchnorm:
        expected |= {'gamma1', 'beta1'}
    assert set(grads) == set(model.params) == expected
    for name, value in model.params.items():
        numeric = eval_numerical_gradient(lambda _: model.loss(X, y)[0], value, verbose=False,
                                          h=1e-6)
        assert grads[name].shape == value.shape
        assert rel_error(numeric, grads[name]) < 1e-6, name


def test_overfits_fifty_examples():
    rng = np.random.default_rng(0)
    data = {'X_train': rng.standard_normal((50, 3, 8, 8)).astype(np.float32),
            'y_train': rng.integers(0, 10, size=50)}
    data['X_val'], data['y_val'] = data['X_train'][:10], data['y_train'][:10]
    model = ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=8, filter_size=3,
                              hidden_dim=50, weight_scale=5e-2, seed=0)
    solver = Solver(model, data, update_rule='adam', optim_config={'learning_rate': 1e-2},
                    batch_size=10, num_epochs=15, verbose=False, seed=0)
    solver.train()
    assert solver.check_accuracy(data['X_train'], data['y_train']) == 1.0
    assert solver.loss_history[-1] < 0.1 * solver.loss_history[0]


def test_mnist_shapes():
    model = ThreeLayerConvNet(input_dim=(1, 28, 28), num_filters=4, filter_size=5,
                              hidden_dim=12)
    shapes = {name: value.shape for name, value in model.params.items()}
    assert shapes == {'W1': (4, 1, 5, 5), 'b1': (4,), 'W2': (4 * 14 * 14, 12), 'b2': (12,),
                      'W3': (12, 10), 'b3': (10,)}
    X = np.random.default_rng(0).standard_normal((3, 1, 28, 28))
    scores = model.loss(X)
    assert scores.shape == (3, 10)
    assert scores.dtype == np.float32
    _, grads = model.loss(X, np.array([1, 2, 3]))
    assert all(grads[name].shape == shape for name, shape in shapes.items())


def test_odd_input_size_pools_by_rounding_down():
    model = ThreeLayerConvNet(input_dim=(1, 7, 9), num_filters=2, filter_size=3, hidden_dim=5)
    assert model.params['W2'].shape == (2 * 3 * 4, 5)
    assert model.loss(np.zeros((2, 1, 7, 9))).shape == (2, 10)


def test_parameters_follow_dtype_seed_and_init_rules():
    model = ThreeLayerConvNet(**TINY, weight_scale=0.5, use_batchnorm=True, seed=3)
    assert all(value.dtype == np.float32 for value in model.params.values())
    assert all(not model.params[name].any() for name in ('b1', 'b2', 'b3', 'beta1'))
    assert np.all(model.params['gamma1'] == 1)
    big = ThreeLayerConvNet(input_dim=(3, 32, 32), weight_scale=0.5, seed=3)
    assert big.params['W2'].std() == pytest.approx(0.5, rel=0.01)
    same = ThreeLayerConvNet(**TINY, weight_scale=0.5, use_batchnorm=True, seed=3)
    other = ThreeLayerConvNet(**TINY, weight_scale=0.5, use_batchnorm=True, seed=4)
    np.testing.assert_array_equal(model.params['W1'], same.params['W1'])
    assert not np.array_equal(model.params['W1'], other.params['W1'])


def test_batchnorm_test_mode_does_not_depend_on_the_batch():
    X, y = tiny_batch(8)
    model = ThreeLayerConvNet(**TINY, weight_scale=0.3, use_batchnorm=True,
                              dtype=np.float64)
    for _ in range(3):
        model.loss(X, y)  # training steps move the running averages away from 0 and 1
    assert not np.allclose(model.bn_params[0]['running_mean'], 0)
    running_mean = model.bn_params[0]['running_mean'].copy()
    scores = model.loss(X)
    np.testing.assert_allclose(model.loss(X[:1]), scores[:1], rtol=1e-12)
    np.testing.assert_array_equal(model.bn_params[0]['running_mean'], running_mean)


@pytest.mark.parametrize('use_batchnorm', [False, True])
def test_save_and_load_round_trip(tmp_path, use_batchnorm):
    X, y = tiny_batch()
    model = ThreeLayerConvNet(**TINY, weight_scale=0.3, use_batchnorm=use_batchnorm, seed=5)
    model.loss(X, y)  # sets batchnorm running averages
    model.params['b3'] = model.params['b3'] + 1.5  # something no fresh model has
    path = model.save(tmp_path / 'model', metadata={'note': 'test'})
    assert path.suffix == '.npz'
    loaded = ThreeLayerConvNet.load(path)
    assert loaded.use_batchnorm == use_batchnorm and loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded.loss(X), model.loss(X))


def test_load_rejects_a_file_of_another_shape(tmp_path):
    path = ThreeLayerConvNet(**TINY).save(tmp_path / 'tiny.npz')
    state = dict(np.load(path))
    state['params/W2'] = np.zeros((3, 3))
    np.savez(tmp_path / 'bad.npz', **state)
    with pytest.raises(ValueError, match="'W2' has shape"):
        ThreeLayerConvNet.load(tmp_path / 'bad.npz')
    with pytest.raises(FileNotFoundError):
        ThreeLayerConvNet.load(tmp_path / 'missing.npz')


@pytest.mark.parametrize('kwargs, message', [
    ({'filter_size': 4}, 'filter_size must be odd'),
    ({'num_filters': 0}, 'num_filters must be a positive integer'),
    ({'input_dim': (3, 32)}, 'input_dim must be'),
    ({'input_dim': (3, 1, 8)}, 'at least 2x2'),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ThreeLayerConvNet(**kwargs)


def test_input_of_the_wrong_shape_is_an_error():
    model = ThreeLayerConvNet(input_dim=(1, 28, 28), num_filters=2, hidden_dim=3)
    with pytest.raises(ValueError, match=r"X must have shape \(N, 1, 28, 28\)"):
        model.loss(np.zeros((2, 3, 32, 32)))
