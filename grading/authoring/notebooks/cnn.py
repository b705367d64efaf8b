"""CNN.ipynb: the three-layer convolutional network, its training and the graded model."""
from grading.authoring.course import HELDOUT_COUNT, MODEL_FILE, TARGET, THRESHOLDS
from grading.authoring.nbbuild import answer, code, markdown, notebook, setup, solution
from grading.authoring.notebooks import SETUP, graded
from grading.authoring.notebooks.references import THREE_LAYER_NET

NAME = 'CNN'

# The held-out images the trained model is graded on (CIFAR-10 test images the student's
# run never sees) and the accuracy thresholds: grading/authoring/course.py, applied by
# grading/sandbox/score_model.py. In words, for the students:
SCALE = (", ".join(f"{points} point{'s' if points > 1 else ''} at {100 * t:.0f} %"
                   for points, t in enumerate(THRESHOLDS, 1))
         + f" and all {len(THRESHOLDS) + 1} above {100 * TARGET:.0f} %")

DATA_SETUP = f'''
from pathlib import Path

from nndl.model_io import read_model_file
from utils.data_utils import SAMPLE_DATA_DIR, get_CIFAR10_data, get_MNIST_data

# FULL_RUN: train on all of CIFAR-10 and MNIST; that is the run you submit (download the
# data first: python -m utils.download all; the whole notebook with the course's own
# solution, 10 epochs of CIFAR-10 and 2 of MNIST, took 13 minutes on a 2-core machine). Otherwise a quick run on a few hundred
# images checks that everything works. Set it here or with the environment variable NNDL_FULL_RUN=1.
FULL_RUN = os.environ.get('NNDL_FULL_RUN') == '1'
MODEL_FILE = {MODEL_FILE!r}   # the trained CIFAR-10 model that is graded


def load_dataset(get_data, quick_sizes):
    """The full dataset in a full run; otherwise a few hundred images of it."""
    if FULL_RUN:
        return get_data()
    data_dir = SAMPLE_DATA_DIR if SAMPLE_DATA_DIR.is_dir() else None
    return get_data(*quick_sizes, data_dir=data_dir)
'''

INTRO = '''
# A three-layer convolutional network

You now put the layers together into `ThreeLayerConvNet` in `nndl/cnn.py`:

    conv - [spatial batchnorm] - relu - 2x2 max pool - affine - relu - affine - softmax

![The layers of ThreeLayerConvNet and the shape of the data after each, for a 3x32x32 image and F filters](attachment:three_layer_net.png)

Write its `__init__` (the parameters) and `loss` (forward and backward pass) where
`nndl/cnn.py` says `raise NotImplementedError`; the class docstring gives every name and
shape. It uses the sandwich layers of `nndl/conv_layer_utils.py`, built on the fast
layers, so it trains in reasonable time. Then train it on CIFAR-10 and MNIST in the cells
marked for your code.

**The lectures** (folder `notebooks/` of the course repository, not part of this
assignment folder): [`05_softmax.ipynb`](../../notebooks/05_softmax.ipynb) derives the
softmax loss and its gradient, `(p - onehot(y)) / N`, that `loss` needs;
[`06_architectures.ipynb`](../../notebooks/06_architectures.ipynb) counts the parameters
of networks like this one and shows what initialization does to training (a network with
all weights at scale 0.01 and plain SGD barely moves from the loss of a uniform guess).

**How this notebook is graded.** The *Tests* cells check the parameters, the scores,
the loss, the gradients and batchnorm, each worth the points it names, all or nothing;
when grading, hidden checks run the same case on networks of other sizes, other values
and seeds, and a failing check names the case and says how the result is wrong. Each
cell has a time limit of a few seconds plus many times what the reference solution
needs. Training is not repeated by the autograder: it loads the model your full run
saved in `cifar10_cnn.npz` (submit that file with the notebook): its weights go through
the course's own forward pass of this architecture, which measures their accuracy on
CIFAR-10 test images your run never used. The written answer at the end is graded by hand.
'''

PARAMS_MD = '''
## 1. Parameters

`ThreeLayerConvNet(input_dim, num_filters, filter_size, hidden_dim, num_classes,
weight_scale, reg, dtype, use_batchnorm, seed)` creates `W1, b1, W2, b2, W3, b3` (and
`gamma1, beta1` with batchnorm) in `self.params`: weights drawn from a normal distribution
with standard deviation `weight_scale`, biases zero, `gamma1` one and `beta1` zero. The
convolution keeps the spatial size (stride 1, pad `(filter_size - 1) // 2`) and the 2x2
pooling halves it, rounding down.

**Why `weight_scale`, when the provided layers use He initialization?** The layers of
`nndl/modules.py` and LeNet-5 (`nndl/models.py`) draw each weight matrix with standard
deviation $\\sqrt{2 / n_\\text{in}}$ (He et al., 2015), where $n_\\text{in}$ (the fan-in)
is the number of inputs of one unit ($C \\cdot K^2$ for a convolution): that keeps the
variance of the activations about the same from layer to layer through ReLUs, which deep
networks need to start training at all. `ThreeLayerConvNet` keeps the API of the CS231n assignment it
comes from, one `weight_scale` for every layer: a hyperparameter you tune, and a
predictable initialization for the tests. For a network this shallow a single scale
works, and with batchnorm after the convolution the scale of `W1` hardly matters (the
next layer sees normalized values whatever it is). The next cell compares He's scale
with the values you might pick.
'''

HE_SCALES = '''
# He initialization's standard deviation for the weights of ThreeLayerConvNet with its
# default sizes (32 filters of 7x7 on 3x32x32 images, 100 hidden units, 10 classes).
F, C, K, H, W, hidden, classes = 32, 3, 7, 32, 32, 100, 10
for name, fan_in in [('W1', C * K * K), ('W2', F * (H // 2) * (W // 2)), ('W3', hidden)]:
    print(f"{name}: fan_in {fan_in:>5}, He standard deviation sqrt(2 / fan_in) = "
          f"{np.sqrt(2 / fan_in):.4f}")
'''

CNN_IMPORTS = '''
import numpy as np
from nndl.cnn import ThreeLayerConvNet
from utils.checks import check_close, check_shape, check_true
'''

EXPECTED_SHAPES = '''
def expected_shapes(C, H, W, F, K, hidden, classes, batchnorm):
    shapes = {'W1': (F, C, K, K), 'b1': (F,), 'W2': (F * (H // 2) * (W // 2), hidden),
              'b2': (hidden,), 'W3': (hidden, classes), 'b3': (classes,)}
    if batchnorm:
        shapes.update(gamma1=(F,), beta1=(F,))
    return shapes


def check_parameters(case, model, shapes, weight_scale):
    names = sorted(model.params)
    check_true(case, names == sorted(shapes), f"params has {names}, expected {sorted(shapes)}")
    for name, shape in shapes.items():
        value = check_shape(case, f"params['{name}']", model.params[name], shape)
        if name.startswith('W'):
            check_true(case, abs(value.std() / weight_scale - 1) < 0.25,
                       f"params['{name}'] has standard deviation {value.std():.3g}, "
                       f"expected about weight_scale = {weight_scale}")
        else:
            start = 1.0 if name.startswith('gamma') else 0.0
            check_close(case, f"params['{name}']", value, np.full(shape, start))
'''

TEST_PARAMS = '''
# Tests: ThreeLayerConvNet parameters (2 points)
''' + CNN_IMPORTS + EXPECTED_SHAPES + '''

model = ThreeLayerConvNet(input_dim=(3, 32, 32), num_filters=8, filter_size=5, hidden_dim=20,
                          weight_scale=0.1, seed=0)
check_parameters('CIFAR-10 input, no batchnorm', model,
                 expected_shapes(3, 32, 32, 8, 5, 20, 10, False), 0.1)
print("visible test passed")
'''

HIDDEN_PARAMS = '''
for (C, H, W), F, K, hidden, classes, batchnorm, scale in [
        ((1, 28, 28), 6, 3, 30, 10, True, 0.05), ((2, 9, 7), 5, 3, 11, 4, False, 0.2),
        ((3, 11, 10), 4, 7, 9, 6, True, 0.5)]:
    model = ThreeLayerConvNet(input_dim=(C, H, W), num_filters=F, filter_size=K,
                              hidden_dim=hidden, num_classes=classes, weight_scale=scale,
                              use_batchnorm=batchnorm, seed=3)
    check_parameters(f'hidden: input {(C, H, W)}, {F} {K}x{K} filters, batchnorm={batchnorm}',
                     model, expected_shapes(C, H, W, F, K, hidden, classes, batchnorm), scale)
'''

LOSS_MD = '''
## 2. Scores and loss

`loss(X)` returns the class scores, shape `(N, num_classes)`; `loss(X, y)` returns the
loss (mean softmax loss plus `0.5 * reg * (sum(W1**2) + sum(W2**2) + sum(W3**2))`) and the
gradients of every parameter. The tests set the parameters to fixed values, so they do not
depend on how you initialize them.
'''

TEST_NET = '''
def test_network(seed, C=3, H=8, W=6, F=4, K=3, hidden=7, classes=5, N=3, batchnorm=False):
    """A float64 network with random parameters, a batch X and labels y."""
    rng = np.random.default_rng(seed)
    model = ThreeLayerConvNet(input_dim=(C, H, W), num_filters=F, filter_size=K,
                              hidden_dim=hidden, num_classes=classes, dtype=np.float64,
                              use_batchnorm=batchnorm)
    shapes = {'W1': (F, C, K, K), 'b1': (F,), 'W2': (F * (H // 2) * (W // 2), hidden),
              'b2': (hidden,), 'W3': (hidden, classes), 'b3': (classes,)}
    if batchnorm:
        shapes.update(gamma1=(F,), beta1=(F,))
    model.params = {name: 0.5 * rng.standard_normal(shape) for name, shape in shapes.items()}
    X = rng.standard_normal((N, C, H, W))
    y = rng.integers(classes, size=N)
    return model, X, y
'''

TEST_SCORES = '''
# Tests: ThreeLayerConvNet scores (2 points)
''' + CNN_IMPORTS + TEST_NET + '''

model, X, y = test_network(1)
scores = check_shape('scores', 'model.loss(X)', model.loss(X), (3, 5))
# Without batchnorm, the scores of an image do not depend on the rest of the batch.
check_close('scores', 'scores of image 0 alone vs in the batch', model.loss(X[:1])[0], scores[0])
print("visible test passed")
'''

HIDDEN_SCORES = '''
for seed, sizes in [(701, {}), (702, dict(C=2, H=7, W=9, F=3, K=5, hidden=4, classes=6, N=2))]:
    model, X, y = test_network(seed, **sizes)
    check_close(f'hidden: scores, sizes {sizes or "default"}', 'model.loss(X)', model.loss(X),
                reference_scores(model.params, X))
'''

TEST_LOSS = '''
# Tests: ThreeLayerConvNet loss (2 points)
''' + CNN_IMPORTS + TEST_NET + '''

model, X, y = test_network(2, N=20)
model.params = {name: 1e-4 * value for name, value in model.params.items()}
loss, grads = model.loss(X, y)
# With tiny weights all 5 classes are about equally likely: the loss is close to log(5).
check_close('tiny weights', 'loss', loss, np.log(5), rtol=1e-3)
print("visible test passed")
'''

HIDDEN_LOSS = '''
for seed, reg in [(711, 0.0), (712, 0.3)]:
    model, X, y = test_network(seed)
    model.reg = reg
    loss, _ = model.loss(X, y)
    check_close(f'hidden: loss with reg = {reg}', 'loss', loss,
                reference_loss(model.params, X, y, reg))
'''

NUMERIC_MD = '''
## 3. Gradients

Check your gradients numerically before the graded test (not graded): with float64
parameters, errors of about 1e-6 or smaller mean the backward pass is right.
'''

NUMERIC_CHECK = '''
# Numeric gradient check of ThreeLayerConvNet (not graded).
from nndl.cnn import ThreeLayerConvNet
from utils.gradient_check import eval_numerical_gradient, rel_error

rng = np.random.default_rng(3)
X, y = rng.standard_normal((2, 3, 8, 8)), np.array([1, 4])
model = ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=3, filter_size=3, hidden_dim=7,
                          num_classes=5, weight_scale=0.5, reg=0.1, dtype=np.float64)
loss, grads = model.loss(X, y)
for name in sorted(grads):
    grad_num = eval_numerical_gradient(lambda _: model.loss(X, y)[0], model.params[name],
                                       verbose=False)
    print(f"{name} error: {rel_error(grad_num, grads[name]):.2e}")
'''

TEST_GRADIENTS = '''
# Tests: ThreeLayerConvNet gradients (3 points)
''' + CNN_IMPORTS + TEST_NET + '''

model, X, y = test_network(3)
model.reg = 0.1
loss, grads = model.loss(X, y)
check_true('gradients', sorted(grads) == sorted(model.params),
           f"grads has {sorted(grads)}, expected one entry per parameter {sorted(model.params)}")
for name, value in model.params.items():
    check_shape('gradients', f"grads['{name}']", grads[name], value.shape)
print("visible test passed")
'''

HIDDEN_GRADIENTS = '''
for seed, reg in [(721, 0.0), (722, 0.2)]:
    model, X, y = test_network(seed)
    model.reg = reg
    _, grads = model.loss(X, y)
    expected = reference_gradients(model.params, X, y, reg)
    for name in expected:
        check_close(f'hidden: gradients with reg = {reg}', f"grads['{name}']", grads.get(name),
                    expected[name], rtol=1e-5, atol=1e-7)
'''

TEST_BATCHNORM = '''
# Tests: ThreeLayerConvNet with batchnorm (2 points)
''' + CNN_IMPORTS + TEST_NET + '''

model, X, y = test_network(4, batchnorm=True)
loss, grads = model.loss(X, y)
for name in ('gamma1', 'beta1'):
    check_shape('batchnorm', f"grads['{name}']", grads.get(name), (4,))
check_shape('batchnorm', 'scores', model.loss(X), (3, 5))
print("visible test passed")
'''

HIDDEN_BATCHNORM = '''
model, X, y = test_network(731, batchnorm=True)
model.reg = 0.1
_, grads = model.loss(X, y)
expected = reference_gradients(model.params, X, y, 0.1, bn='batch')
for name in expected:
    check_close('hidden: batchnorm, train mode', f"grads['{name}']", grads.get(name),
                expected[name], rtol=1e-5, atol=1e-7)
rng = np.random.default_rng(732)
mean, var = rng.standard_normal(4), 0.5 + rng.random(4)
model.bn_params[0].update(running_mean=mean.copy(), running_var=var.copy())
check_close('hidden: batchnorm, test mode (running averages)', 'model.loss(X)', model.loss(X),
            reference_scores(model.params, X, bn=(mean, var)))
'''

DATA_MD = '''
## 4. Data

The next cell loads CIFAR-10 (49,000 training, 1,000 validation and 1,000 test images,
with the mean training image subtracted) and MNIST, or a few hundred images of each in a
quick run. The autograder skips it.
'''

LOAD_DATA = '''
# NBVAL_IGNORE_OUTPUT
if GRADING:
    print("skipped while autograding")
else:
    cifar10 = load_dataset(get_CIFAR10_data, (400, 100, 100))
    mnist = load_dataset(get_MNIST_data, (900, 100, 100))
    for name, data in (('CIFAR-10', cifar10), ('MNIST', mnist)):
        print(name, {key: value.shape for key, value in data.items()})
'''

OVERFIT_MD = '''
## 5. Overfitting a small set

A correct network with enough capacity can learn 50 images by heart: the training accuracy
should reach 1.0 within a few epochs while the validation accuracy stays low. This cell
is not graded (and is skipped by the autograder). The cell after it plots the loss and
the accuracies, and the 16 first-layer filters as small color images: after 50 images
they are still mostly the random noise they started as.
'''


OVERFIT_PLOTS = '''
# NBVAL_IGNORE_OUTPUT
# Loss, accuracies and first-layer filters of the overfitting run (not graded).
if GRADING:
    print("skipped while autograding")
else:
    %matplotlib inline
    from utils.vis_utils import plot_filters, plot_training_curves

    display(plot_training_curves(solver.loss_history, solver.train_acc_history,
                                 solver.val_acc_history))
    display(plot_filters(model.params['W1'], title='First-layer filters after overfitting'))
'''

OVERFIT = '''
# NBVAL_IGNORE_OUTPUT
from nndl.cnn import ThreeLayerConvNet
from utils.solver import Solver

if GRADING:
    print("skipped while autograding")
else:
    small = {'X_train': cifar10['X_train'][:50], 'y_train': cifar10['y_train'][:50],
             'X_val': cifar10['X_val'], 'y_val': cifar10['y_val']}
    model = ThreeLayerConvNet(num_filters=16, filter_size=3, hidden_dim=50, weight_scale=1e-2)
    solver = Solver(model, small, update_rule='adam', optim_config={'learning_rate': 2e-3},
                    num_epochs=15, batch_size=25, print_every=0, verbose=False, seed=0)
    solver.train()
    print("training accuracy per epoch:", np.round(solver.train_acc_history, 2))
    print("validation accuracy per epoch:", np.round(solver.val_acc_history, 2))
'''

TRAIN_MD = f'''
## 6. Training on CIFAR-10

Write `train_cifar10(data, num_epochs)`: build a `ThreeLayerConvNet`, train it with
`utils.solver.Solver` on `data` and return the model and the solver. You choose the
architecture (number and size of the filters, hidden units, batchnorm), the regularization
and the optimizer settings; `nndl.augment.random_flip` (mirror images at random) is
available as the Solver's `augment`. The course target is **more than 65 % validation
accuracy** in a full run.

**Where to start.** Tune on a subset first (a few thousand training images, one or two
epochs): a setting that does not beat the others there rarely wins on the full set.
Search the rates and strengths on a log scale. Ranges that are reasonable to start from:

| hyperparameter | start from | notes |
|---|---|---|
| `num_filters` | 16 to 64 | more filters: more accuracy and proportionally more time |
| `filter_size` | 3, 5 or 7 | the convolution's arithmetic grows with the area: 5x5 is 25/9 = 2.8 times 3x3, 7x7 is 49/25 = 2 times 5x5 |
| `hidden_dim` | 100 to 500 | `W2` has `num_filters * 16 * 16 * hidden_dim` weights: the bulk of the parameters |
| `weight_scale` | 1e-3 to 1e-2 | the loss at the start should be close to log(10) = 2.3 |
| `reg` | 1e-4 to 1e-2 | raise it if the training accuracy runs far ahead of the validation accuracy |
| Adam `learning_rate` | 1e-4 to 3e-3 | loss not falling in the first hundred steps: too small; jumping up or NaN: too large |
| `lr_decay` | 0.7 to 0.95 | multiplies the learning rate after every epoch |
| `batch_size` | 50 to 200 | |
| `num_epochs` | 5 to 10 | the Solver keeps the weights of the best epoch |
| `use_batchnorm` | True | makes training much less sensitive to `weight_scale` and the learning rate |

**Reading the curves.** The loss tells you about the learning rate: a loss that falls
slowly and almost in a straight line wants a larger rate, one that drops at once and
then stays high (or jumps, or turns NaN) a smaller one. The gap between training and
validation accuracy tells you about regularization: in the overfitting run of section 5
the network learns its 50 images by heart (training accuracy 1.0) and generalizes to
nothing (validation near 0.16); in a healthy full run the two stay close, and a growing
gap calls for more `reg` (or flips, or fewer epochs). The middle and right panels are
this notebook's own runs with the course's solution.

![Left: sketch of the training loss with a learning rate too small, good and too large. Middle: training and validation accuracy of the overfitting run. Right: the same for a full CIFAR-10 run of the course's solution](attachment:reading_curves.png)

The next cells run your function, save the model to `{MODEL_FILE}`, plot the training
curves and the first-layer filters, and evaluate the model. A quick run never overwrites a
model saved by a full run. After a full run the filters should look smooth: oriented
edges and blobs of color, unlike the noise of the overfitting run. **Submit `{MODEL_FILE}` with the
notebook.** The autograder reads the weights from it (its running averages too, with
batchnorm) and measures, with the course's own forward pass of the architecture above, its
accuracy on {HELDOUT_COUNT:,} CIFAR-10 test images that are not in `data`,
preprocessed as `data` is (the mean training image subtracted, nothing else): {SCALE}.
'''

TRAIN_SOLUTION = '''
from nndl.augment import random_flip
from nndl.cnn import ThreeLayerConvNet
from utils.solver import Solver


def train_cifar10(data, num_epochs):
    """Build a ThreeLayerConvNet, train it on data for num_epochs; return (model, solver)."""
    ### BEGIN SOLUTION
    model = ThreeLayerConvNet(num_filters=32, filter_size=5, hidden_dim=64, weight_scale=1e-2,
                              reg=1e-3, use_batchnorm=True, seed=0)
    solver = Solver(model, data, update_rule='adam', optim_config={'learning_rate': 1e-3},
                    lr_decay=0.8, batch_size=100, num_epochs=num_epochs, augment=random_flip,
                    print_every=0, verbose=True, seed=0)
    solver.train()
    ### END SOLUTION
    return model, solver
'''

RUN_TRAINING = '''
# NBVAL_IGNORE_OUTPUT
if GRADING:
    print("skipped while autograding: the model you saved is graded")
else:
    start = time.perf_counter()
    model, solver = train_cifar10(cifar10, num_epochs=10 if FULL_RUN else 1)
    print(f"trained in {time.perf_counter() - start:.0f} s; "
          f"best validation accuracy {solver.best_val_acc:.3f}")
    kept = Path(MODEL_FILE).is_file() and read_model_file(MODEL_FILE)['metadata'].get('full_run')
    if FULL_RUN or not kept:
        model.save(MODEL_FILE, metadata={'full_run': FULL_RUN, 'val_acc': solver.best_val_acc})
        print(f"saved to {MODEL_FILE}")
    else:
        print(f"quick run: {MODEL_FILE} from your full run is kept")
'''

TRAINING_PLOTS = '''
# NBVAL_IGNORE_OUTPUT
# Loss, accuracies and first-layer filters of your CIFAR-10 run (not graded).
if GRADING:
    print("skipped while autograding")
else:
    %matplotlib inline
    from utils.vis_utils import plot_filters, plot_training_curves

    display(plot_training_curves(solver.loss_history, solver.train_acc_history,
                                 solver.val_acc_history))
    display(plot_filters(model.params['W1'], title='First-layer filters after training'))
'''

TEST_TARGET = f'''
# Tests: the trained CIFAR-10 model (4 points, by accuracy on held-out images)
from pathlib import Path

import numpy as np
from nndl.cnn import ThreeLayerConvNet
from utils.checks import check_true

check_true('trained model', Path({MODEL_FILE!r}).is_file(),
           "{MODEL_FILE} not found: run the training cells above (a full run) and submit the "
           "file with this notebook")
model = ThreeLayerConvNet.load({MODEL_FILE!r})
print("the saved model:", model.config)
'''

HIDDEN_TARGET = '''
# During autograding this part never reaches your kernel: the grader scores the saved model
# file itself (grading/sandbox/score_model.py), in a process of its own, on the held-out images.
from grading.sandbox.score_model import score
from utils.data_utils import SAMPLE_DATA_DIR

result = score(MODEL_FILE, os.environ.get('NNDL_DATA') or SAMPLE_DATA_DIR)
print(result['message'])
float(result['points'])
'''


MNIST_MD = '''
## 7. Training on MNIST

Write `train_mnist(data, num_epochs)` the same way for MNIST (input_dim `(1, 28, 28)`); a
small network reaches about 98 % validation accuracy in one or two epochs. This part is
not autograded: report your result in the answer below.
'''

MNIST_SOLUTION = '''
def train_mnist(data, num_epochs):
    """Build a ThreeLayerConvNet for MNIST, train it for num_epochs; return (model, solver)."""
    ### BEGIN SOLUTION
    model = ThreeLayerConvNet(input_dim=(1, 28, 28), num_filters=16, filter_size=5,
                              hidden_dim=100, weight_scale=1e-2, reg=1e-4, use_batchnorm=True,
                              seed=0)
    solver = Solver(model, data, update_rule='adam', optim_config={'learning_rate': 1e-3},
                    lr_decay=0.7, batch_size=100, num_epochs=num_epochs, print_every=0,
                    verbose=True, seed=0)
    solver.train()
    ### END SOLUTION
    return model, solver
'''

RUN_MNIST = '''
# NBVAL_IGNORE_OUTPUT
if GRADING:
    print("skipped while autograding")
else:
    mnist_model, mnist_solver = train_mnist(mnist, num_epochs=2 if FULL_RUN else 1)
    print(f"MNIST: best validation accuracy {mnist_solver.best_val_acc:.3f}")
'''

REPORT = '''
**Question (2 points).** Describe the network and training settings of your CIFAR-10 run
and what you tried on the way there; give the validation accuracies you reached on
CIFAR-10 and MNIST.

### BEGIN SOLUTION
A full answer names the architecture (filters, their size, hidden units, batchnorm), the
regularization, the optimizer with its learning rate and decay, the batch size, the
epochs and the augmentation; says what was tried and what it changed; and gives both
validation accuracies. Reference figures to compare with: the solution of this notebook
(`train_cifar10` and `train_mnist` above), run in full (`NNDL_FULL_RUN=1 jupyter nbconvert
--execute CNN.ipynb`, 2026-11-30, a 2-core machine, the full datasets; two runs gave the
same figures, the training being seeded). CIFAR-10 (32 5x5 filters, spatial batchnorm, 64
hidden units, weight scale 1e-2, reg 1e-3, Adam at 1e-3 decayed by 0.8 per epoch, batches
of 100, random flips, 10 epochs) reached its best validation accuracy, 68.6 %, at epoch 9
(52.4 % after the first epoch, 66.1 % after the fifth) and 68.8 % on the 1,000 held-out
test images of the autograder (4 of 4 points), in 11 min 46 s of training; MNIST (16 5x5
filters, 100 hidden units, reg 1e-4, decay 0.7, 2 epochs) reached 98.5 % validation
accuracy; the whole notebook ran in 13 min. The course's larger configuration
(`python -m nndl.train cifar10` of the course repository: 256 hidden units, decay 0.75,
inputs also divided by the pixels' standard deviation, 8 epochs) reached 71.5 % validation
and 71.3 % test accuracy in 10 min 57 s (docs/results.md).

Observations a good answer may make: batchnorm makes training much less sensitive to the
weight scale and the learning rate; flips
narrow the gap between training and validation accuracy; 7x7 filters need twice the
convolution arithmetic of 5x5 filters (49/25), and in the course's comparison gave no
better accuracy for the time.
### END SOLUTION
'''


def build():
    """The CNN notebook."""
    return notebook(NAME, [
        markdown('cnn_intro', INTRO, figures=['three_layer_net']),
        setup('cnn_setup', SETUP + DATA_SETUP),
        markdown('cnn_params', PARAMS_MD),
        code(HE_SCALES),
        graded('test_cnn_params', 2, TEST_PARAMS, HIDDEN_PARAMS),
        markdown('cnn_loss', LOSS_MD),
        graded('test_cnn_scores', 2, TEST_SCORES, HIDDEN_SCORES, references=[THREE_LAYER_NET]),
        graded('test_cnn_loss', 2, TEST_LOSS, HIDDEN_LOSS, references=[THREE_LAYER_NET]),
        markdown('cnn_gradients', NUMERIC_MD),
        code(NUMERIC_CHECK),
        graded('test_cnn_gradients', 3, TEST_GRADIENTS, HIDDEN_GRADIENTS,
               references=[THREE_LAYER_NET]),
        graded('test_cnn_batchnorm', 2, TEST_BATCHNORM, HIDDEN_BATCHNORM,
               references=[THREE_LAYER_NET]),
        markdown('cnn_data', DATA_MD),
        code(LOAD_DATA),
        markdown('cnn_overfit', OVERFIT_MD),
        code(OVERFIT),
        code(OVERFIT_PLOTS),
        markdown('cnn_train', TRAIN_MD, figures=['reading_curves']),
        solution('train_cifar10', TRAIN_SOLUTION),
        code(RUN_TRAINING),
        code(TRAINING_PLOTS),
        graded('test_cifar10_model', 4, TEST_TARGET, HIDDEN_TARGET),
        markdown('cnn_mnist', MNIST_MD),
        solution('train_mnist', MNIST_SOLUTION),
        code(RUN_MNIST),
        answer('training_report', 2, REPORT),
    ])
