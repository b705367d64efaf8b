"""The provided code runs on a student's nndl/conv_layers.py that has only the required
functions, written in CS231n's style: int stride and pad, no helpers of this course.

A copy of nndl/ and utils/ with such a conv_layers.py (tests/corpus/ucla_hw5.py) runs, in a fresh interpreter, the
fast layers (against that file's naive layers), the sandwich layers (numeric gradients),
the Solver and a training step of ThreeLayerConvNet.
"""
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from grading.authoring import course

# The UCLA HW5 entry of the grading corpus: only the required functions, int stride and
# pad, numpy only (its spatial batchnorm is its own, not the course's).
MINIMAL_CONV_LAYERS = Path(__file__).parent / 'corpus' / 'ucla_hw5.py'

CHECKS = '''
import numpy as np

import nndl.conv_layers
from nndl.cnn import ThreeLayerConvNet
from nndl.conv_layer_utils import (conv_bn_relu_pool_backward, conv_bn_relu_pool_forward,
                                   conv_relu_pool_backward, conv_relu_pool_forward)
from nndl.conv_layers import (conv_backward_naive, conv_forward_naive, max_pool_backward_naive,
                              max_pool_forward_naive, spatial_batchnorm_backward,
                              spatial_batchnorm_forward)
from utils.fast_layers import (conv_backward_fast, conv_forward_fast, max_pool_backward_fast,
                               max_pool_forward_fast, spatial_batchnorm_backward_fast,
                               spatial_batchnorm_forward_fast)
from utils.gradient_check import eval_numerical_gradient_array, rel_error
from utils.solver import Solver

assert nndl.conv_layers.__file__.startswith(ROOT), nndl.conv_layers.__file__
assert not hasattr(nndl.conv_layers, 'as_pair')
rng = np.random.default_rng(0)

# Fast layers against the minimal naive ones.
x, w, b = (rng.standard_normal(shape) for shape in ((2, 3, 7, 7), (4, 3, 3, 3), (4,)))
conv_param = {'stride': 2, 'pad': 1}
out, cache = conv_forward_naive(x, w, b, conv_param)
out_fast, cache_fast = conv_forward_fast(x, w, b, conv_param)
dout = rng.standard_normal(out.shape)
assert rel_error(out, out_fast) < 1e-10
for naive, fast in zip(conv_backward_naive(dout, cache), conv_backward_fast(dout, cache_fast)):
    assert rel_error(naive, fast) < 1e-10
pool_param = {'pool_height': 2, 'pool_width': 2, 'stride': 2}
x = rng.standard_normal((2, 3, 8, 8))
out, cache = max_pool_forward_naive(x, pool_param)
out_fast, cache_fast = max_pool_forward_fast(x, pool_param)
dout = rng.standard_normal(out.shape)
assert rel_error(out, out_fast) == 0
assert rel_error(max_pool_backward_naive(dout, cache),
                 max_pool_backward_fast(dout, cache_fast)) == 0
gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
out, cache = spatial_batchnorm_forward(x, gamma, beta, {'mode': 'train'})
out_fast, cache_fast = spatial_batchnorm_forward_fast(x, gamma, beta, {'mode': 'train'})
assert rel_error(out, out_fast) < 1e-10
dout = rng.standard_normal(x.shape)
for naive, fast in zip(spatial_batchnorm_backward(dout, cache),
                       spatial_batchnorm_backward_fast(dout, cache_fast)):
    assert rel_error(naive, fast) < 1e-8

# Sandwich layers: numeric gradients.
x, w, b = (rng.standard_normal(shape) for shape in ((2, 3, 6, 6), (3, 3, 3, 3), (3,)))
conv_param = {'stride': 1, 'pad': 1}
out, cache = conv_relu_pool_forward(x, w, b, conv_param, pool_param)
dout = rng.standard_normal(out.shape)
dx, dw, db = conv_relu_pool_backward(dout, cache)
dx_num = eval_numerical_gradient_array(
    lambda v: conv_relu_pool_forward(v, w, b, conv_param, pool_param)[0], x, dout)
assert rel_error(dx, dx_num) < 1e-6, rel_error(dx, dx_num)
gamma, beta = np.ones(3), np.zeros(3)
out, cache = conv_bn_relu_pool_forward(x, w, b, gamma, beta, conv_param, {'mode': 'train'},
                                       pool_param)
grads = conv_bn_relu_pool_backward(dout, cache)
dw_num = eval_numerical_gradient_array(
    lambda v: conv_bn_relu_pool_forward(x, v, b, gamma, beta, conv_param, {'mode': 'train'},
                                        pool_param)[0], w, dout)
assert rel_error(grads[1], dw_num) < 1e-6, rel_error(grads[1], dw_num)

# The Solver and a training step of ThreeLayerConvNet.
data = {'X_train': rng.standard_normal((20, 3, 8, 8)), 'y_train': rng.integers(10, size=20),
        'X_val': rng.standard_normal((10, 3, 8, 8)), 'y_val': rng.integers(10, size=10)}
for use_batchnorm in (False, True):
    model = ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=4, filter_size=3, hidden_dim=10,
                              weight_scale=1e-1, use_batchnorm=use_batchnorm)
    before = {name: value.copy() for name, value in model.params.items()}
    solver = Solver(model, data, update_rule='sgd_nesterov_momentum', num_epochs=1,
                    batch_size=10, verbose=False)
    solver.train()
    assert len(solver.loss_history) == 2 and np.all(np.isfinite(solver.loss_history))
    assert any(not np.array_equal(before[name], model.params[name]) for name in before)
print('all checks passed')
'''


def test_provided_code_runs_on_a_minimal_cs231n_style_conv_layers(tmp_path):
    for package in ('nndl', 'utils'):
        (tmp_path / package).mkdir()
        for path in (course.REPO_ROOT / package).glob('*.py'):
            shutil.copyfile(path, tmp_path / package / path.name)
    shutil.copyfile(MINIMAL_CONV_LAYERS, tmp_path / 'nndl' / 'conv_layers.py')
    script = f"ROOT = {str(tmp_path)!r}\n" + textwrap.dedent(CHECKS)
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    result = subprocess.run([sys.executable, '-c', script], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith('all checks passed')
