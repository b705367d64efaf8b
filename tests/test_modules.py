"""Tests of the layer objects (nndl.modules) and the models built from them (nndl.models)."""
import numpy as np
import pytest

from nndl.models import Classifier, LeNet5
from nndl.modules import (AvgPool2d, BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU,
                          Sequential)
from utils.solver import Solver
from utils.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array, rel_error


def small_network(dtype=np.float64, seed=0):
    """Every layer type once, on (N, 2, 7, 6) inputs, 3 classes."""
    rng = np.random.default_rng(seed)
    return Sequential(
        Conv2d(2, 3, (3, 2), stride=1, pad=1, seed=rng, dtype=dtype),   # -> (3, 7, 7)
        BatchNorm2d(3, dtype=dtype),
        ReLU(),
        MaxPool2d(2, stride=1),                                         # -> (3, 6, 6)
        Conv2d(3, 4, 3, stride=2, seed=rng, dtype=dtype),               # -> (4, 2, 2)
        AvgPool2d((2, 1)),                                              # -> (4, 1, 2)
        Flatten(),
        Linear(8, 3, seed=rng, dtype=dtype))


def test_sequential_names_every_parameter_by_position():
    network = small_network()
    assert list(network.params) == ['0.weight', '0.bias', '1.gamma', '1.beta', '4.weight',
                                    '4.bias', '7.weight', '7.bias']
    assert network.params['0.weight'].shape == (3, 2, 3, 2)
    assert network.params['7.weight'].shape == (8, 3)
    assert network.output_shape((2, 7, 6)) == (3,)


def test_classifier_numeric_gradient_of_every_parameter():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((4, 2, 7, 6))
    y = rng.integers(0, 3, size=4)
    model = Classifier(small_network(), reg=0.1, dtype=np.float64)
    _, grads = model.loss(X, y)
    assert set(grads) == set(model.params)
    for name in model.params:
        numeric = eval_numerical_gradient(lambda _: model.loss(X, y)[0], model.params[name],
                                          verbose=False, h=1e-6)
        # atol: the conv bias in front of batchnorm has a zero gradient (the mean removes it)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-8, err_msg=name)


def test_sequential_backward_gives_the_input_gradient():
    rng = np.random.default_rng(2)
    network = small_network()
    x = rng.standard_normal((3, 2, 7, 6))
    dout = rng.standard_normal((3, 3))
    network.forward(x)
    dx = network.backward(dout)
    numeric = eval_numerical_gradient_array(lambda v: network.forward(v), x, dout, h=1e-6)
    assert rel_error(numeric, dx) < 1e-6


def test_regularization_covers_weights_only():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((4, 2, 7, 6)), rng.integers(0, 3, size=4)
    model = Classifier(small_network(), reg=0.0, dtype=np.float64)
    loss_plain, grads_plain = model.loss(X, y)
    model.reg = 2.0
    loss_reg, grads_reg = model.loss(X, y)
    weights = ('0.weight', '4.weight', '7.weight')
    expected = 0.5 * 2.0 * sum(np.sum(model.params[name] ** 2) for name in weights)
    assert loss_reg - loss_plain == pytest.approx(expected, rel=1e-10)
    np.testing.assert_allclose(grads_reg['1.gamma'], grads_plain['1.gamma'])
    np.testing.assert_allclose(grads_reg['0.bias'], grads_plain['0.bias'])


def test_lenet5_shapes_and_parameter_count():
    model = LeNet5()
    X = np.random.default_rng(0).standard_normal((5, 1, 28, 28))
    assert model.loss(X).shape == (5, 10)
    # conv 6*1*25+6, conv 16*6*25+16, linear 400*120+120, 120*84+84, 84*10+10
    assert sum(value.size for value in model.params.values()) == 61706
    assert model.params['7.weight'].shape == (400, 120)
    cifar = LeNet5(in_channels=3, num_classes=10, input_size=32, pool='avg')
    assert cifar.params['7.weight'].shape == (16 * 6 * 6, 120)
    assert cifar.loss(np.zeros((2, 3, 32, 32))).shape == (2, 10)
    assert all(value.dtype == np.float32 for value in model.params.values())


def test_he_initialization_by_default():
    conv = Conv2d(8, 64, 5, seed=0)
    assert conv.params['weight'].std() == pytest.approx(np.sqrt(2 / (8 * 25)), rel=0.03)
    linear = Linear(100, 300, weight_scale=0.01, seed=0)
    assert linear.params['weight'].std() == pytest.approx(0.01, rel=0.03)
    assert not linear.params['bias'].any()


def test_assigning_through_params_reaches_the_layer():
    network = small_network()
    new_weight = np.ones((8, 3))
    network.params['7.weight'] = new_weight
    assert network[7].params['weight'] is new_weight
    out = network.forward(np.zeros((1, 2, 7, 6)), train=False)
    # The input is zero, so the output is the sum of what reaches the last layer + bias.
    assert np.allclose(out, out[0, 0])
    with pytest.raises(ValueError, match="shape"):
        network.params['7.weight'] = np.ones((3, 8))
    with pytest.raises(KeyError, match="no parameter '9.weight'"):
        network.params['9.weight'] = new_weight
    with pytest.raises(TypeError):
        del network.params['7.bias']


def test_nested_sequential_names_and_updates():
    inner = Sequential(Linear(4, 3, seed=0), ReLU())
    outer = Sequential(inner, Linear(3, 2, seed=1))
    assert list(outer.params) == ['0.0.weight', '0.0.bias', '1.weight', '1.bias']
    outer.params['0.0.bias'] = np.full(3, 5.0)
    assert np.all(inner[0].params['bias'] == 5.0)


def test_solver_updates_the_layers_in_place():
    rng = np.random.default_rng(4)
    data = {'X_train': rng.standard_normal((40, 1, 12, 12)).astype(np.float32),
            'y_train': rng.integers(0, 10, size=40)}
    data['X_val'], data['y_val'] = data['X_train'][:10], data['y_train'][:10]
    model = LeNet5(input_size=12, seed=0)
    first_conv = model.network[0]
    before = first_conv.params['weight'].copy()
    solver = Solver(model, data, update_rule='adam', optim_config={'learning_rate': 3e-3},
                    batch_size=10, num_epochs=20, verbose=False)
    solver.train()
    assert not np.allclose(first_conv.params['weight'], before)
    assert first_conv.params['weight'] is model.params['0.weight']
    assert first_conv.params['weight'].dtype == np.float32
    assert solver.loss_history[-1] < 0.5 * solver.loss_history[0]
    assert solver.check_accuracy(data['X_train'], data['y_train']) > 0.9


def test_batchnorm2d_uses_running_averages_in_test_mode():
    layer = BatchNorm2d(2, momentum=0.0, dtype=np.float64)  # momentum 0: keep the last batch
    x = np.random.default_rng(5).standard_normal((6, 2, 3, 3)) * 4 + 7
    train_out = layer.forward(x, train=True)
    np.testing.assert_allclose(layer.bn_param['running_mean'], x.mean(axis=(0, 2, 3)))
    test_out = layer.forward(x, train=False)
    np.testing.assert_allclose(test_out, train_out, atol=1e-4)
    np.testing.assert_allclose(layer.forward(x[:1], train=False), test_out[:1])
    with pytest.raises(RuntimeError, match="train=True"):
        layer.backward(test_out)


def test_save_and_load_lenet5(tmp_path):
    model = LeNet5(input_size=(16, 12), pool='avg', reg=0.01, seed=7)
    model.params['11.bias'] = model.params['11.bias'] + 1.0
    path = model.save(tmp_path / 'lenet.npz', metadata={'test_acc': 0.5})
    loaded = LeNet5.load(path)
    X = np.random.default_rng(6).standard_normal((2, 1, 16, 12))
    np.testing.assert_array_equal(loaded.loss(X), model.loss(X))
    assert loaded.reg == 0.01
    with pytest.raises(ValueError, match="'7.weight' has shape"):
        LeNet5(input_size=(16, 12), pool='avg').load_state(
            LeNet5(input_size=28).save(tmp_path / 'other.npz'))


def test_backward_before_forward_and_bad_layers_are_errors():
    with pytest.raises(RuntimeError, match="before forward"):
        ReLU().backward(np.zeros(3))
    with pytest.raises(TypeError, match="not a layer object"):
        Sequential(ReLU(), np.tanh)
    with pytest.raises(ValueError, match="kernel_size"):
        Conv2d(1, 2, 0)
    with pytest.raises(ValueError, match="pool must be"):
        LeNet5(pool='median')
    assert MaxPool2d(3).pool_param == {'pool_height': 3, 'pool_width': 3, 'stride': (3, 3)}
