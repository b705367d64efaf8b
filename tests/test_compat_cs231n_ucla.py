"""Compatibility with CS231n assignment 2 and UCLA ECE C147/C247 HW5: their check cells,
run against the instructor's solution.

Each notebook below starts with the import cell that notebook has, with the module names
of docs/migration.md (UCLA HW5's names are the course's own; CS231n's `cs231n.*` become
`nndl.*` and `utils.*`). The check cells that follow call the published APIs the way
those notebooks do (NumPy's global seed, `verbose=False` passed to the gradient checks,
the Solver's keyword arguments) and assert the published expected values and error sizes
the notebooks print. The cells are written for this suite from those APIs and values; the
datasets are the bundled sample, so the training runs are shortened in size only.
"""
import numpy as np
import pytest

from utils.data_utils import SAMPLE_DATA_DIR

# The import cell of UCLA HW5's notebooks (CNN-Layers, CNN-BatchNorm, CNN), unchanged.
UCLA_IMPORTS = '''
import numpy as np
from nndl.cnn import *
from nndl.conv_layers import *
from nndl.conv_layer_utils import *
from nndl.layer_utils import *
from nndl.layers import *
from nndl.optim import *
from utils.data_utils import get_CIFAR10_data
from utils.fast_layers import *
from utils.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array
from utils.solver import Solver

def rel_error(x, y):
    return np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))
'''

# CS231n assignment 2's import cell with the renames of the migration table:
# cs231n.classifiers.cnn -> nndl.cnn, cs231n.layers -> nndl.layers + nndl.conv_layers,
# cs231n.layer_utils -> nndl.layer_utils + nndl.conv_layer_utils, cs231n.* -> utils.*.
CS231N_IMPORTS = '''
import numpy as np
from nndl.cnn import *
from nndl.layers import *
from nndl.conv_layers import *
from nndl.layer_utils import *
from nndl.conv_layer_utils import *
from utils.data_utils import get_CIFAR10_data
from utils.fast_layers import *
from utils.gradient_check import eval_numerical_gradient_array, eval_numerical_gradient
from utils.solver import Solver

def rel_error(x, y):
    return np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))
'''


@pytest.fixture(params=['ucla', 'cs231n'])
def notebook(request):
    """A namespace after the import cell of a UCLA HW5 or a CS231n A2 notebook."""
    namespace = {}
    exec(UCLA_IMPORTS if request.param == 'ucla' else CS231N_IMPORTS, namespace)
    return namespace


def run(namespace, cell):
    exec(cell, namespace)
    return namespace


def test_conv_forward_naive_published_value(notebook):
    run(notebook, '''
x_shape, w_shape = (2, 3, 4, 4), (3, 3, 4, 4)
x = np.linspace(-0.1, 0.5, num=np.prod(x_shape)).reshape(x_shape)
w = np.linspace(-0.2, 0.3, num=np.prod(w_shape)).reshape(w_shape)
b = np.linspace(-0.1, 0.2, num=3)
out, _ = conv_forward_naive(x, w, b, {'stride': 2, 'pad': 1})
correct_out = np.array([[[[-0.08759809, -0.10987781], [-0.18387192, -0.2109216]],
                         [[0.21027089, 0.21661097], [0.22847626, 0.23004637]],
                         [[0.50813986, 0.54309974], [0.64082444, 0.67101435]]],
                        [[[-0.98053589, -1.03143541], [-1.19128892, -1.24695841]],
                         [[0.69108355, 0.66880383], [0.59480972, 0.56776003]],
                         [[2.36270298, 2.36904306], [2.38090835, 2.38247847]]]])
difference = rel_error(out, correct_out)
''')
    # The notebooks print "difference: 2.21214764175e-08" ("around 1e-8").
    assert notebook['difference'] == pytest.approx(2.2121e-08, rel=1e-3)


def test_conv_backward_naive_numeric_gradients(notebook):
    run(notebook, '''
np.random.seed(231)
x = np.random.randn(4, 3, 5, 5)
w = np.random.randn(2, 3, 3, 3)
b = np.random.randn(2,)
dout = np.random.randn(4, 2, 5, 5)
conv_param = {'stride': 1, 'pad': 1}
dx_num = eval_numerical_gradient_array(lambda x: conv_forward_naive(x, w, b, conv_param)[0], x, dout)
dw_num = eval_numerical_gradient_array(lambda w: conv_forward_naive(x, w, b, conv_param)[0], w, dout)
db_num = eval_numerical_gradient_array(lambda b: conv_forward_naive(x, w, b, conv_param)[0], b, dout)
out, cache = conv_forward_naive(x, w, b, conv_param)
dx, dw, db = conv_backward_naive(dout, cache)
errors = rel_error(dx, dx_num), rel_error(dw, dw_num), rel_error(db, db_num)
''')
    assert max(notebook['errors']) < 1e-8      # "around 1e-9" in the notebooks


def test_max_pool_naive_published_value_and_gradient(notebook):
    run(notebook, '''
x = np.linspace(-0.3, 0.4, num=2 * 3 * 4 * 4).reshape(2, 3, 4, 4)
out, _ = max_pool_forward_naive(x, {'pool_width': 2, 'pool_height': 2, 'stride': 2})
correct_out = np.array([[[[-0.26315789, -0.24842105], [-0.20421053, -0.18947368]],
                         [[-0.14526316, -0.13052632], [-0.08631579, -0.07157895]],
                         [[-0.02736842, -0.01263158], [0.03157895, 0.04631579]]],
                        [[[0.09052632, 0.10526316], [0.14947368, 0.16421053]],
                         [[0.20842105, 0.22315789], [0.26736842, 0.28210526]],
                         [[0.32631579, 0.34105263], [0.38526316, 0.4]]]])
forward_difference = rel_error(out, correct_out)

np.random.seed(231)
x = np.random.randn(3, 2, 8, 8)
dout = np.random.randn(3, 2, 4, 4)
pool_param = {'pool_height': 2, 'pool_width': 2, 'stride': 2}
dx_num = eval_numerical_gradient_array(lambda x: max_pool_forward_naive(x, pool_param)[0], x, dout)
out, cache = max_pool_forward_naive(x, pool_param)
backward_difference = rel_error(max_pool_backward_naive(dout, cache), dx_num)
''')
    # Published: "difference: 4.1666665157267834e-08"; "dx error: 3.27562514223e-12".
    assert notebook['forward_difference'] == pytest.approx(4.1667e-08, rel=1e-3)
    assert notebook['backward_difference'] < 1e-10


def test_fast_layers_agree_with_naive_ones(notebook):
    run(notebook, '''
np.random.seed(231)
x = np.random.randn(10, 3, 31, 31)
w = np.random.randn(25, 3, 3, 3)
b = np.random.randn(25,)
dout = np.random.randn(10, 25, 16, 16)
conv_param = {'stride': 2, 'pad': 1}
out_naive, cache_naive = conv_forward_naive(x, w, b, conv_param)
out_fast, cache_fast = conv_forward_fast(x, w, b, conv_param)
conv_differences = [rel_error(out_naive, out_fast)]
for naive, fast in zip(conv_backward_naive(dout, cache_naive), conv_backward_fast(dout, cache_fast)):
    conv_differences.append(rel_error(naive, fast))

x = np.random.randn(10, 3, 32, 32)
dout = np.random.randn(10, 3, 16, 16)
pool_param = {'pool_height': 2, 'pool_width': 2, 'stride': 2}
out_naive, cache_naive = max_pool_forward_naive(x, pool_param)
out_fast, cache_fast = max_pool_forward_fast(x, pool_param)
pool_differences = [rel_error(out_naive, out_fast),
                    rel_error(max_pool_backward_naive(dout, cache_naive),
                              max_pool_backward_fast(dout, cache_fast))]
''')
    assert max(notebook['conv_differences']) < 1e-9
    assert max(notebook['pool_differences']) == 0.0


@pytest.mark.parametrize('forward, backward, shape', [
    ('conv_relu_pool_forward', 'conv_relu_pool_backward', (2, 3, 8, 8)),
    ('conv_relu_forward', 'conv_relu_backward', (2, 3, 8, 8)),
])
def test_sandwich_layers_numeric_gradients(notebook, forward, backward, shape):
    pool = ', pool_param' if 'pool' in forward else ''
    run(notebook, f'''
np.random.seed(231)
x = np.random.randn(2, 3, 16, 16)
w = np.random.randn(3, 3, 3, 3)
b = np.random.randn(3,)
dout = np.random.randn{shape}
conv_param = {{'stride': 1, 'pad': 1}}
pool_param = {{'pool_height': 2, 'pool_width': 2, 'stride': 2}}
if 'pool' not in {forward!r}:
    x = x[:, :, :8, :8]
out, cache = {forward}(x, w, b, conv_param{pool})
dx, dw, db = {backward}(dout, cache)
dx_num = eval_numerical_gradient_array(lambda x: {forward}(x, w, b, conv_param{pool})[0], x, dout)
dw_num = eval_numerical_gradient_array(lambda w: {forward}(x, w, b, conv_param{pool})[0], w, dout)
db_num = eval_numerical_gradient_array(lambda b: {forward}(x, w, b, conv_param{pool})[0], b, dout)
errors = rel_error(dx_num, dx), rel_error(dw_num, dw), rel_error(db_num, db)
''')
    assert max(notebook['errors']) < 1e-7


def test_spatial_batchnorm_statistics_and_gradients(notebook):
    run(notebook, '''
np.random.seed(231)
N, C, H, W = 2, 3, 4, 5
x = 4 * np.random.randn(N, C, H, W) + 10
out, _ = spatial_batchnorm_forward(x, np.ones(C), np.zeros(C), {'mode': 'train'})
plain = out.mean(axis=(0, 2, 3)), out.std(axis=(0, 2, 3))
gamma, beta = np.asarray([3, 4, 5]), np.asarray([6, 7, 8])
out, _ = spatial_batchnorm_forward(x, gamma, beta, {'mode': 'train'})
scaled = out.mean(axis=(0, 2, 3)), out.std(axis=(0, 2, 3))

# Test-time forward pass after the running averages have warmed up.
N, C, H, W = 10, 4, 11, 12
bn_param = {'mode': 'train'}
gamma, beta = np.ones(C), np.zeros(C)
for t in range(50):
    spatial_batchnorm_forward(2.3 * np.random.randn(N, C, H, W) + 13, gamma, beta, bn_param)
bn_param['mode'] = 'test'
out, _ = spatial_batchnorm_forward(2.3 * np.random.randn(N, C, H, W) + 13, gamma, beta, bn_param)
test_time = out.mean(axis=(0, 2, 3)), out.std(axis=(0, 2, 3))

N, C, H, W = 2, 3, 4, 5
x = 5 * np.random.randn(N, C, H, W) + 12
gamma, beta = np.random.randn(C), np.random.randn(C)
dout = np.random.randn(N, C, H, W)
bn_param = {'mode': 'train'}
fx = lambda x: spatial_batchnorm_forward(x, gamma, beta, bn_param)[0]
fg = lambda a: spatial_batchnorm_forward(x, gamma, beta, bn_param)[0]
fb = lambda b: spatial_batchnorm_forward(x, gamma, beta, bn_param)[0]
dx_num = eval_numerical_gradient_array(fx, x, dout)
da_num = eval_numerical_gradient_array(fg, gamma, dout)
db_num = eval_numerical_gradient_array(fb, beta, dout)
_, cache = spatial_batchnorm_forward(x, gamma, beta, bn_param)
dx, dgamma, dbeta = spatial_batchnorm_backward(dout, cache)
errors = rel_error(dx_num, dx), rel_error(da_num, dgamma), rel_error(db_num, dbeta)
''')
    np.testing.assert_allclose(notebook['plain'][0], 0, atol=1e-12)
    np.testing.assert_allclose(notebook['plain'][1], 1, atol=1e-5)
    np.testing.assert_allclose(notebook['scaled'][0], [6, 7, 8])
    np.testing.assert_allclose(notebook['scaled'][1], [3, 4, 5], rtol=1e-5)
    np.testing.assert_allclose(notebook['test_time'][0], 0, atol=0.1)   # "close to 0"
    np.testing.assert_allclose(notebook['test_time'][1], 1, atol=0.1)   # "close to 1"
    assert max(notebook['errors']) < 1e-6


def test_three_layer_convnet_initial_loss_and_gradients(notebook):
    run(notebook, '''
model = ThreeLayerConvNet()
N = 50
X = np.random.randn(N, 3, 32, 32)
y = np.random.randint(10, size=N)
initial_loss, grads = model.loss(X, y)
model.reg = 0.5
regularized_loss, grads = model.loss(X, y)

num_inputs, input_dim, num_classes = 2, (3, 16, 16), 10
np.random.seed(231)
X = np.random.randn(num_inputs, *input_dim)
y = np.random.randint(num_classes, size=num_inputs)
model = ThreeLayerConvNet(num_filters=3, filter_size=3, input_dim=input_dim, hidden_dim=7,
                          dtype=np.float64)
loss, grads = model.loss(X, y)
gradient_errors = {}
for param_name in sorted(grads):
    f = lambda _: model.loss(X, y)[0]
    param_grad_num = eval_numerical_gradient(f, model.params[param_name], verbose=False, h=1e-6)
    gradient_errors[param_name] = rel_error(param_grad_num, grads[param_name])
''')
    # Published: about log(10) = 2.3026 without regularization, 2.509 with reg = 0.5.
    assert notebook['initial_loss'] == pytest.approx(np.log(10), abs=2e-3)
    assert notebook['regularized_loss'] == pytest.approx(2.509, abs=3e-3)
    assert set(notebook['gradient_errors']) == {'W1', 'W2', 'W3', 'b1', 'b2', 'b3'}
    # The notebooks: "correct implementations may have relative errors up to the order of
    # e-2" (weight_scale 1e-3 makes the numeric gradients of W1 coarse).
    assert max(notebook['gradient_errors'].values()) < 1e-2


def test_overfit_small_data_with_the_solver():
    # One run (the Solver is the same module under both layouts).
    notebook = run({'data_dir': SAMPLE_DATA_DIR}, UCLA_IMPORTS)
    run(notebook, '''
data = get_CIFAR10_data(num_training=400, num_validation=100, num_test=100, data_dir=data_dir)
num_train = 100
small_data = {
  'X_train': data['X_train'][:num_train],
  'y_train': data['y_train'][:num_train],
  'X_val': data['X_val'],
  'y_val': data['y_val'],
}
np.random.seed(231)
model = ThreeLayerConvNet(weight_scale=1e-2)
solver = Solver(model, small_data,
                num_epochs=15, batch_size=50,
                update_rule='adam',
                optim_config={'learning_rate': 1e-3},
                verbose=False, print_every=1)
solver.train()
''')
    solver = notebook['solver']
    assert len(solver.loss_history) == 30
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 16
    # The notebooks' point: a net this size overfits 100 images.
    assert solver.train_acc_history[-1] > 0.9
    assert solver.train_acc_history[-1] > solver.val_acc_history[-1] + 0.5
    # As CS231n's Solver, the model ends with the parameters of the best validation epoch.
    assert solver.best_val_acc == max(solver.val_acc_history)
    assert solver.check_accuracy(notebook['small_data']['X_val'],
                                 notebook['small_data']['y_val']) == solver.best_val_acc


def test_the_ucla_layout_holds_every_name_the_notebooks_use():
    namespace = run({}, UCLA_IMPORTS)
    for name in ('ThreeLayerConvNet', 'Solver', 'get_CIFAR10_data', 'eval_numerical_gradient',
                 'conv_forward_naive', 'conv_backward_naive', 'max_pool_forward_naive',
                 'max_pool_backward_naive', 'spatial_batchnorm_forward',
                 'spatial_batchnorm_backward', 'conv_forward_fast', 'conv_backward_fast',
                 'max_pool_forward_fast', 'max_pool_backward_fast', 'conv_relu_forward',
                 'conv_relu_pool_forward', 'affine_relu_forward', 'affine_forward',
                 'affine_backward', 'relu_forward', 'softmax_loss', 'svm_loss',
                 'dropout_forward', 'batchnorm_forward', 'sgd', 'sgd_momentum',
                 'sgd_nesterov_momentum', 'rmsprop', 'adam', 'conv_forward_im2col',
                 'conv_forward_strides', 'max_pool_forward_reshape'):
        assert callable(namespace[name]), name


def test_a_notebook_that_seeds_numpy_gets_reproducible_models_and_minibatches():
    # CS231n's habit: np.random.seed(231) at the top of a cell. The course's model and
    # Solver draw from their own seeded generators (seed=0 by default), so such a cell
    # gives the same initialisation and minibatches on every run, and so does any other
    # global seed (docs/migration.md); pass seed=... to get a different draw.
    from nndl.cnn import ThreeLayerConvNet
    from utils.solver import Solver

    rng = np.random.default_rng(5)
    data = {'X_train': rng.standard_normal((40, 3, 8, 8)), 'y_train': rng.integers(10, size=40),
            'X_val': rng.standard_normal((10, 3, 8, 8)), 'y_val': rng.integers(10, size=10)}

    def run_notebook(global_seed, **seeds):
        np.random.seed(global_seed)
        model = ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=4, filter_size=3,
                                  hidden_dim=10, weight_scale=1e-1, **seeds)
        initial = {name: value.copy() for name, value in model.params.items()}
        solver = Solver(model, data, update_rule='adam', num_epochs=2, batch_size=10,
                        verbose=False, **seeds)
        solver.train()
        return initial, solver.loss_history

    first_params, first_losses = run_notebook(231)
    again_params, again_losses = run_notebook(231)
    other_params, other_losses = run_notebook(1)
    for name in first_params:
        np.testing.assert_array_equal(first_params[name], again_params[name])
        np.testing.assert_array_equal(first_params[name], other_params[name])
    assert first_losses == again_losses == other_losses
    seeded_params, seeded_losses = run_notebook(231, seed=7)
    assert not np.array_equal(seeded_params['W1'], first_params['W1'])
    assert seeded_losses != first_losses
