"""SpatialBatchNorm.ipynb: batch normalization for convolutional layers."""
from grading.authoring.nbbuild import code, markdown, notebook, setup
from grading.authoring.notebooks import SETUP, graded
from grading.authoring.notebooks.references import SPATIAL_BATCHNORM, SPATIAL_BATCHNORM_BACKWARD

NAME = 'SpatialBatchNorm'

HELPERS = '''
def random_batch(seed, shape, scale=3.0, shift=4.0):
    """A float64 batch of shape (N, C, H, W): shift + scale * standard normal values."""
    return shift + scale * np.random.default_rng(seed).standard_normal(shape)
'''

INTRO = r'''
# Spatial batch normalization

Batch normalization keeps the inputs of a layer at zero mean and unit variance over each
minibatch, then scales and shifts them by learned parameters. After a convolution, the
values of one channel at every position are produced by the same filter, so *spatial*
batch normalization gives each channel a single mean and variance, computed over the
examples **and** all spatial positions (N * H * W values), and one `gamma` and one `beta`.

**The equations.** For one channel $c$, with $m = N H W$ values $x_1, \dots, x_m$ in
the minibatch (all examples, all positions):

$$\mu_c = \frac{1}{m} \sum_{k=1}^{m} x_k, \qquad
\sigma_c^2 = \frac{1}{m} \sum_{k=1}^{m} (x_k - \mu_c)^2, \qquad
\hat x_k = \frac{x_k - \mu_c}{\sqrt{\sigma_c^2 + \varepsilon}}, \qquad
y_k = \gamma_c\, \hat x_k + \beta_c .$$

The variance is the biased one (divided by $m$, `np.var`'s default), and $\varepsilon$
(`bn_param['eps']`, default `1e-5`) keeps the division safe for a constant channel.
$\gamma_c$ and $\beta_c$ let the network undo the normalization where that helps: with
$\gamma_c = \sigma_c$ and $\beta_c = \mu_c$ the layer is (nearly) the identity.

You write `spatial_batchnorm_forward` and `spatial_batchnorm_backward` in
`nndl/conv_layers.py`. `nndl.layers.batchnorm_forward` (given) normalizes the columns of
an `(M, D)` array and keeps running averages in `bn_param`; arranging `x` as such an array
is all the spatial version needs, but any correct implementation gets full marks.

**How this notebook is graded.** Each *Tests* cell checks one feature (train mode,
running averages, test mode, `dx`, `dgamma` and `dbeta`) and is worth the points it
names, all or nothing. When grading, hidden checks run the same case with the same kinds
of arguments on other shapes, values and seeds; a failing check names the case and says
how the result is wrong, or which exception your code raised. Each cell has a time limit
of a few seconds plus many times what the reference solution needs.

**Reading.** Batch normalization was introduced by S. Ioffe and C. Szegedy, *Batch
normalization: accelerating deep network training by reducing internal covariate shift*
(ICML 2015, arXiv:1502.03167), whose section 3.2 gives the convolutional version used
here. The lecture notebook
[`06_architectures.ipynb`](../../notebooks/06_architectures.ipynb) (folder `notebooks/`
of the course repository) shows the networks that use it, ResNet and later.

**The reshape.** Move the channel axis last, then merge the other three: every channel
becomes one column of an `(N*H*W, C)` array, which is exactly what the vanilla
`batchnorm_forward` normalizes column by column. Undo both steps on the way out (reshape
to `(N, H, W, C)`, then move the channels back to axis 1).

![x of shape (2, 3, 2, 2) becomes an (8, 3) array whose column c holds the 8 values of channel c](attachment:spatial_batchnorm_reshape.png)

A plain `x.reshape(-1, C)` without the transpose gives the right shape and the wrong
numbers: it mixes channels within a column.

'''

TRAIN_MD = '''
## 1. Forward pass in train mode

In `'train'` mode each channel is normalized with the mean and (biased) variance of its
N * H * W values in the minibatch, then multiplied by `gamma` and shifted by `beta`. So
with `gamma = 1` and `beta = 0`, every channel of the output has mean 0 and standard
deviation 1 (up to `eps`), and in general mean `beta` and standard deviation `gamma`.
'''

IMPORTS = '''
import numpy as np
from nndl.conv_layers import spatial_batchnorm_backward, spatial_batchnorm_forward
from utils.checks import check_close, check_shape
'''

TEST_TRAIN = '''
# Tests: spatial_batchnorm_forward in train mode (2 points)
''' + IMPORTS + '''
x = random_batch(1, (4, 3, 5, 6))
gamma, beta = np.array([1.0, 2.0, 0.5]), np.array([0.0, -1.0, 3.0])
out, _ = spatial_batchnorm_forward(x, gamma, beta, {'mode': 'train'})
out = check_shape('train mode', 'out', out, x.shape)
check_close('train mode', 'mean of each output channel', out.mean(axis=(0, 2, 3)), beta, atol=1e-7)
check_close('train mode', 'std of each output channel', out.std(axis=(0, 2, 3)), gamma, rtol=1e-5)
print("visible test passed")
'''

HIDDEN_TRAIN = '''
rng = np.random.default_rng(601)
for shape, eps in [((3, 4, 5, 2), 1e-5), ((2, 2, 3, 7), 1e-3)]:
    x = -2.0 + 5.0 * rng.standard_normal(shape)
    gamma, beta = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    out, _ = spatial_batchnorm_forward(x, gamma, beta, {'mode': 'train', 'eps': eps})
    expected = reference_spatial_batchnorm(x, gamma, beta, x.mean(axis=(0, 2, 3)),
                                           x.var(axis=(0, 2, 3)), eps)
    check_close(f'hidden: train mode, x {shape}, eps {eps}', 'out', out, expected)
'''

RUNNING_MD = '''
## 2. Running averages

Each train-mode call also updates the running averages kept in `bn_param` (created as
zeros and ones if absent), with the minibatch's per-channel mean and variance:

    running_mean = momentum * running_mean + (1 - momentum) * mean
    running_var  = momentum * running_var  + (1 - momentum) * var

They must end up in `bn_param['running_mean']` and `bn_param['running_var']`, shape `(C,)`.

**Which momentum?** Here (as in CS231n) `momentum` is the weight of the **old** value,
default 0.9: each step moves the average a tenth of the way to the batch statistic.
PyTorch's `nn.BatchNorm2d(momentum=0.1)` means the same update with the roles swapped:
its `momentum` is the weight of the **new** batch statistic. So course momentum 0.9 is
PyTorch momentum 0.1. (PyTorch also keeps the *unbiased* variance in its running
average; the course keeps the biased one, the same one it normalizes with.) A larger
momentum gives a smoother average that takes longer to forget its starting value:

![The running mean of one channel over 60 steps for momentum 0.9 and 0.5, starting from 0, against the noisy batch means](attachment:batchnorm_momentum.png)
'''

TEST_RUNNING = '''
# Tests: running averages of spatial_batchnorm_forward (2 points)
''' + IMPORTS + '''
bn_param = {'mode': 'train', 'momentum': 0.5}
x = random_batch(2, (4, 3, 5, 6))
spatial_batchnorm_forward(x, np.ones(3), np.zeros(3), bn_param)
check_shape('running averages', "bn_param['running_mean']", bn_param.get('running_mean'), (3,))
check_shape('running averages', "bn_param['running_var']", bn_param.get('running_var'), (3,))
check_close('one step from zeros, momentum 0.5', "bn_param['running_mean']",
            bn_param['running_mean'], 0.5 * x.mean(axis=(0, 2, 3)))
print("visible test passed")
'''

HIDDEN_RUNNING = '''
rng = np.random.default_rng(602)
channels, momentum = 4, 0.8
mean, var = rng.standard_normal(channels), 1.0 + rng.random(channels)
bn_param = {'mode': 'train', 'momentum': momentum, 'running_mean': mean.copy(),
            'running_var': var.copy()}
for step in range(3):
    x = 1.5 + 2.0 * rng.standard_normal((3, channels, 4, 5))
    spatial_batchnorm_forward(x, np.ones(channels), np.zeros(channels), bn_param)
    mean = momentum * mean + (1 - momentum) * x.mean(axis=(0, 2, 3))
    var = momentum * var + (1 - momentum) * x.var(axis=(0, 2, 3))
    case = f'hidden: after {step + 1} train steps, momentum {momentum}'
    check_close(case, "bn_param['running_mean']", bn_param['running_mean'], mean)
    check_close(case, "bn_param['running_var']", bn_param['running_var'], var)
'''

TEST_MODE_MD = '''
## 3. Test mode

In `'test'` mode the layer normalizes with the running averages instead of the batch
statistics (and leaves them unchanged), so the output for one image no longer depends on
the other images of the batch.
'''

TEST_TESTMODE = '''
# Tests: spatial_batchnorm_forward in test mode (2 points)
''' + IMPORTS + '''
x = random_batch(3, (5, 3, 4, 4))
gamma, beta = np.array([1.0, 2.0, 0.5]), np.array([0.0, -1.0, 3.0])
bn_param = {'mode': 'test', 'running_mean': np.array([4.0, 3.0, 5.0]),
            'running_var': np.array([9.0, 4.0, 16.0])}
out_batch, _ = spatial_batchnorm_forward(x, gamma, beta, bn_param)
out_single, _ = spatial_batchnorm_forward(x[:1], gamma, beta, bn_param)
out_single = check_shape('test mode', 'out for one image', out_single, (1, 3, 4, 4))
check_close('test mode', 'out for image 0 alone vs in the batch', out_single[0],
            check_shape('test mode', 'out', out_batch, x.shape)[0])
print("visible test passed")
'''

HIDDEN_TESTMODE = '''
rng = np.random.default_rng(603)
shape, eps = (3, 4, 5, 3), 1e-3
x = 2.0 + 3.0 * rng.standard_normal(shape)
gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
mean, var = rng.standard_normal(4), 0.5 + rng.random(4)
bn_param = {'mode': 'test', 'eps': eps, 'running_mean': mean.copy(), 'running_var': var.copy()}
out, _ = spatial_batchnorm_forward(x, gamma, beta, bn_param)
case = f'hidden: test mode, x {shape}, eps {eps}'
check_close(case, 'out', out, reference_spatial_batchnorm(x, gamma, beta, mean, var, eps))
check_close(case, "bn_param['running_mean'] (must not change)", bn_param['running_mean'], mean)
check_close(case, "bn_param['running_var'] (must not change)", bn_param['running_var'], var)
'''

BACKWARD_MD = r'''
## 4. Backward pass

`spatial_batchnorm_backward(dout, cache)` returns `dx`, `dgamma` and `dbeta` for a forward
pass in train mode. Check it numerically first (next cell, not graded): the errors should
be around 1e-7 or smaller.

**Hint.** The same reshape works backwards: arrange `dout` as `(N*H*W, C)` the way you
arranged `x`, call the given `nndl.layers.batchnorm_backward` with the cache of
`batchnorm_forward`, and bring `dx` back to `(N, C, H, W)`; `dgamma` and `dbeta` already
have shape `(C,)`. If you derive it yourself instead, per channel (sums over the $m$ values
of the channel):

$$d\beta_c = \sum_k dy_k, \qquad d\gamma_c = \sum_k dy_k\, \hat x_k, \qquad
dx_k = \frac{\gamma_c}{\sqrt{\sigma_c^2 + \varepsilon}}
\left( dy_k - \frac{1}{m} \sum_l dy_l - \hat x_k\, \frac{1}{m} \sum_l dy_l\, \hat x_l \right).$$

The two subtracted means are the gradient flowing through $\mu_c$ and $\sigma_c^2$: every
value of a channel influences the statistics that normalize all the others. This is
also why `dx` sums to zero over each channel (the first test below checks it).
'''

NUMERIC_CHECK = '''
# Numeric gradient check of your spatial batchnorm (not graded).
from nndl.conv_layers import spatial_batchnorm_backward, spatial_batchnorm_forward
from utils.gradient_check import eval_numerical_gradient_array, rel_error

x = random_batch(4, (2, 3, 4, 5))
gamma, beta = np.array([1.0, 0.5, 2.0]), np.array([0.1, 0.0, -0.3])
dout = np.random.default_rng(5).standard_normal(x.shape)


def forward(x, gamma, beta):
    return spatial_batchnorm_forward(x, gamma, beta, {'mode': 'train'})[0]


dx_num = eval_numerical_gradient_array(lambda x_: forward(x_, gamma, beta), x, dout)
dgamma_num = eval_numerical_gradient_array(lambda g: forward(x, g, beta), gamma, dout)
dbeta_num = eval_numerical_gradient_array(lambda b: forward(x, gamma, b), beta, dout)
_, cache = spatial_batchnorm_forward(x, gamma, beta, {'mode': 'train'})
dx, dgamma, dbeta = spatial_batchnorm_backward(dout, cache)
print('dx error:', rel_error(dx, dx_num))
print('dgamma error:', rel_error(dgamma, dgamma_num))
print('dbeta error:', rel_error(dbeta, dbeta_num))
'''

BACKWARD_VISIBLE = '''
x = random_batch(6, (4, 3, 5, 6))
gamma, beta = np.array([1.0, 2.0, 0.5]), np.array([0.0, -1.0, 3.0])
dout = np.random.default_rng(7).standard_normal(x.shape)
_, cache = spatial_batchnorm_forward(x, gamma, beta, {'mode': 'train'})
dx, dgamma, dbeta = spatial_batchnorm_backward(dout, cache)
'''

TEST_BACKWARD_DX = '''
# Tests: spatial_batchnorm_backward, dx (2 points)
''' + IMPORTS + BACKWARD_VISIBLE + '''
dx = check_shape('backward', 'dx', dx, x.shape)
# Adding a constant to a channel of x does not change the output, so dx sums to zero per channel.
check_close('backward', 'sum of dx over each channel', dx.sum(axis=(0, 2, 3)), np.zeros(3),
            atol=1e-9)
print("visible test passed")
'''

HIDDEN_BACKWARD_DX = '''
rng = np.random.default_rng(604)
for shape, eps in [((3, 4, 3, 5), 1e-5), ((2, 2, 4, 4), 1e-2)]:
    x = 1.0 + 2.0 * rng.standard_normal(shape)
    gamma, beta = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    dout = rng.standard_normal(shape)
    _, cache = spatial_batchnorm_forward(x, gamma, beta, {'mode': 'train', 'eps': eps})
    grads = spatial_batchnorm_backward(dout, cache)
    expected = reference_spatial_batchnorm_backward(x, gamma, dout, eps)
    check_close(f'hidden: backward, x {shape}, eps {eps}', 'dx', grads[0], expected[0])
'''

TEST_BACKWARD_PARAMS = '''
# Tests: spatial_batchnorm_backward, dgamma and dbeta (1 point)
''' + IMPORTS + BACKWARD_VISIBLE + '''
check_shape('backward', 'dgamma', dgamma, (3,))
check_shape('backward', 'dbeta', dbeta, (3,))
print("visible test passed")
'''

HIDDEN_BACKWARD_PARAMS = '''
rng = np.random.default_rng(605)
shape, eps = (3, 4, 3, 5), 1e-5
x = 1.0 + 2.0 * rng.standard_normal(shape)
gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
dout = rng.standard_normal(shape)
_, cache = spatial_batchnorm_forward(x, gamma, beta, {'mode': 'train', 'eps': eps})
grads = spatial_batchnorm_backward(dout, cache)
expected = reference_spatial_batchnorm_backward(x, gamma, dout, eps)
check_close(f'hidden: backward, x {shape}', 'dgamma', grads[1], expected[1])
check_close(f'hidden: backward, x {shape}', 'dbeta', grads[2], expected[2])
'''


def build():
    """The SpatialBatchNorm notebook."""
    return notebook(NAME, [
        markdown('sbn_intro', INTRO, figures=['spatial_batchnorm_reshape']),
        setup('sbn_setup', SETUP + HELPERS),
        markdown('sbn_train', TRAIN_MD),
        graded('test_sbn_forward_train', 2, TEST_TRAIN, HIDDEN_TRAIN,
               references=[SPATIAL_BATCHNORM]),
        markdown('sbn_running', RUNNING_MD, figures=['batchnorm_momentum']),
        graded('test_sbn_running_averages', 2, TEST_RUNNING, HIDDEN_RUNNING),
        markdown('sbn_test_mode', TEST_MODE_MD),
        graded('test_sbn_forward_test_mode', 2, TEST_TESTMODE, HIDDEN_TESTMODE,
               references=[SPATIAL_BATCHNORM]),
        markdown('sbn_backward', BACKWARD_MD),
        code(NUMERIC_CHECK),
        graded('test_sbn_backward_dx', 2, TEST_BACKWARD_DX, HIDDEN_BACKWARD_DX,
               references=[SPATIAL_BATCHNORM_BACKWARD]),
        graded('test_sbn_backward_dgamma_dbeta', 1, TEST_BACKWARD_PARAMS,
               HIDDEN_BACKWARD_PARAMS, references=[SPATIAL_BATCHNORM_BACKWARD]),
    ])
