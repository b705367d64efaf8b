"""ConvolutionalNetworks.ipynb: convolution and pooling layers, forward and backward."""
from grading.authoring.nbbuild import answer, code, markdown, notebook, setup
from grading.authoring.notebooks import SETUP, graded, points_text
from grading.authoring.notebooks.references import CONV, CONV_BACKWARD, POOL, POOL_BACKWARD

NAME = 'ConvolutionalNetworks'

HELPERS = '''
# Inputs for the visible tests. (The hidden tests make their own.)
def random_arrays(seed, *shapes):
    """One array of standard normal values (float64) per shape, from a seeded generator."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for shape in shapes]


def distinct_values(seed, shape):
    """An array of all-different values in random order: max pooling meets no ties."""
    size = int(np.prod(shape))
    return (np.random.default_rng(seed).permutation(size).reshape(shape) - size / 2) / 8
'''

INTRO = '''
# Convolutional networks: the layers

In this notebook you write the layers of a convolutional network with loops, in
`nndl/conv_layers.py`:

| function | what it computes |
|---|---|
| `conv_output_size`, `conv_param_count` | the arithmetic of a convolutional layer |
| `conv_forward_naive`, `conv_backward_naive` | convolution and its gradients |
| `max_pool_forward_naive`, `max_pool_backward_naive` | max pooling and its gradient |
| `avg_pool_forward_naive`, `avg_pool_backward_naive` | average pooling and its gradient |

**The lectures.** The derivations behind these layers are worked out step by step, with
numbers you can check by hand, in the course's lecture notebooks (folder `notebooks/` of
the course repository; they are not part of this assignment folder):
[`02_convolution_forward_backward.ipynb`](../../notebooks/02_convolution_forward_backward.ipynb)
for the convolution's forward and backward passes, and
[`03_pooling.ipynb`](../../notebooks/03_pooling.ipynb) for max and average pooling.
(The links work when this folder sits in the course repository, as `release/hw5/`.)

Write your code in `nndl/conv_layers.py` where it says `raise NotImplementedError`, save the
file and rerun the test cells here (the setup cell turns on `autoreload`, so the notebook
picks up your changes). Do not edit other files of `nndl/` or `utils/`: the autograder uses
its own copy of them.

**How this notebook is graded.** Each *Tests* cell checks one feature of one function
(for example the convolution with a stride of 2, or the `db` of the backward pass) and is
worth the points it says, all or nothing. It first runs a visible check you can read;
when grading, hidden checks run the same case on other shapes, values and seeds, with
`stride`, `pad` and the windows given in the same format as in the visible check: ints
where it has ints. Only the cells titled *(height, width) pairs* pass pairs such as
`'stride': (2, 1)` (4 of the 30 points of this notebook). A failing check says which
case failed and how (the shape it expected, the largest error and where it is, or the
exception your code raised). Any correct implementation gets full marks: loops in any
order or vectorized code, a mask or an argmax for max pooling, any cache your forward
and backward agree on. Each cell has a time limit of a few seconds plus many times what
the reference solution needs; a function that runs past it fails that cell and, at once,
the later cells that call it.
The written answers at the end are graded by hand.
'''

ARITHMETIC = '''
## 1. The arithmetic of a convolutional layer

A window of size $K$ slides along an input of size $N$ padded with $P$ zeros on each side,
in steps of $S$; positions where the window would stick out are dropped, so along each
axis the output has
$$\\text{out} = \\left\\lfloor \\frac{N + 2P - K}{S} \\right\\rfloor + 1$$
positions. A layer with $F$ filters on $C$ input channels has $F \\cdot C \\cdot K_h K_w$
weights and $F$ biases.

Write `conv_output_size(input_size, kernel_size, stride=1, pad=0)` and
`conv_param_count(in_channels, out_channels, kernel_size, bias=True)`. Each size may be
given as one int or as a `(height, width)` pair; the given code turns them into pairs.
'''

TEST_OUTPUT_SIZE = '''
# Tests: conv_output_size (1 point)
from nndl.conv_layers import conv_output_size
from utils.checks import check_equal

check_equal('144x144 input, 3x3 kernel', 'conv_output_size', conv_output_size(144, 3), (142, 142))
check_equal('20x20 input, 3x3 kernel, stride 2', 'conv_output_size',
            conv_output_size(20, 3, stride=2), (9, 9))
# Sizes may also be (height, width) pairs:
check_equal('(8, 11) input, (3, 2) kernel, stride (1, 3), pad (0, 1)', 'conv_output_size',
            conv_output_size((8, 11), (3, 2), stride=(1, 3), pad=(0, 1)), (6, 4))
print("visible tests passed")
'''

HIDDEN_OUTPUT_SIZE = '''
for size, kernel, stride, pad in [((7, 10), (3, 4), (2, 3), (1, 0)), (32, 5, 1, 2),
                                  ((9, 6), (2, 2), (3, 2), (0, 1)), (6, (1, 6), (1, 4), 0)]:
    pair = lambda v: v if isinstance(v, tuple) else (v, v)
    expected = tuple((n + 2 * p - k) // s + 1 for n, k, s, p in
                     zip(pair(size), pair(kernel), pair(stride), pair(pad)))
    check_equal(f'hidden: input {size}, kernel {kernel}, stride {stride}, pad {pad}',
                'conv_output_size', conv_output_size(size, kernel, stride, pad), expected)
'''

TEST_PARAM_COUNT = '''
# Tests: conv_param_count (1 point)
from nndl.conv_layers import conv_param_count
from utils.checks import check_equal

check_equal('3 -> 6 channels, 3x3', 'conv_param_count', conv_param_count(3, 6, 3), 168)
check_equal('24 -> 48 channels, 3x3', 'conv_param_count', conv_param_count(24, 48, 3), 10416)
check_equal('10 -> 20 channels, 3x3', 'conv_param_count', conv_param_count(10, 20, 3), 1820)
check_equal('3 -> 6 channels, (3, 5) kernel', 'conv_param_count', conv_param_count(3, 6, (3, 5)),
            276)
check_equal('4 -> 2 channels, 3x3, no bias', 'conv_param_count',
            conv_param_count(4, 2, 3, bias=False), 72)
print("visible tests passed")
'''

HIDDEN_PARAM_COUNT = '''
for c_in, c_out, kernel, bias in [(7, 5, (3, 2), True), (16, 32, 1, True), (4, 9, 5, False),
                                  (1, 1, (1, 7), False)]:
    kh, kw = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    expected = c_out * c_in * kh * kw + (c_out if bias else 0)
    check_equal(f'hidden: {c_in} -> {c_out} channels, kernel {kernel}, bias={bias}',
                'conv_param_count', conv_param_count(c_in, c_out, kernel, bias=bias), expected)
'''

CONV_FORWARD = r'''
## 2. Convolution: forward pass

`conv_forward_naive(x, w, b, conv_param)` takes a minibatch `x` of shape `(N, C, H, W)`,
filters `w` of shape `(F, C, HH, WW)` and biases `b` of shape `(F,)`; `conv_param` gives
`'stride'` and `'pad'` (an int or a `(height, width)` pair). Pad the input with zeros,
slide every filter over it, and at each position take the sum of filter times window plus
the filter's bias. The docstring in `nndl/conv_layers.py` gives every shape.

![A 3-channel 5x5 input padded by 1, a 3x3x3 filter at two positions 2 columns apart, and the 3x3 output](attachment:conv_forward.png)

A filter always spans **all** `C` input channels: each output number sums over a
`C x HH x WW` block. With $\tilde x$ the zero-padded input and strides $S_h, S_w$,

$$\text{out}[n, f, i, j] = b[f] + \sum_{c=0}^{C-1} \sum_{p=0}^{HH-1} \sum_{q=0}^{WW-1}
w[f, c, p, q]\; \tilde x[n, c, i S_h + p, j S_w + q],$$

for $0 \le i < H_{out}$ and $0 \le j < W_{out}$ (the sizes of section 1). In code, the
window of output `(i, j)` is `x_pad[n, :, i*sh:i*sh+HH, j*sw:j*sw+WW]`, and one output is
`np.sum(window * w[f]) + b[f]`. `np.pad` pads only the last two axes if you give it
`((0, 0), (0, 0), (ph, ph), (pw, pw))`.

The visible tests compare your output with `conv_forward_fast` from `utils/fast_layers.py`,
a vectorized version written for you (you will time both below).
'''

CONV_FORWARD_IMPORTS = '''
import numpy as np
from nndl.conv_layers import conv_forward_naive
from utils.checks import check_close, running
from utils.fast_layers import conv_forward_fast
'''

# Hidden checks take stride, pad and pooling windows in the format of their cell's visible
# test: ints, except in the cells about (height, width) pairs. The references want pairs.
# A helper of the hidden checks, not a reference: it runs in the kernel (grading/sandbox/judge.py
# replaces the references' block only).
AS_PAIR = '''
def hw(value):
    """(value, value) for an int, the pair itself for a (height, width) pair."""
    return tuple(value) if isinstance(value, tuple) else (value, value)
'''


def _conv_forward_test(grade_id, points, title, visible, hidden_cases, seed):
    """A graded cell for conv_forward_naive on ``hidden_cases`` [(x, w shapes, stride, pad)]."""
    hidden = f'''
rng = np.random.default_rng({seed})
for x_shape, w_shape, stride, pad in {hidden_cases!r}:
    x, w, b = (rng.standard_normal(x_shape), rng.standard_normal(w_shape),
               rng.standard_normal(w_shape[0]))
    case = f'hidden: x {{x_shape}}, w {{w_shape}}, stride {{stride}}, pad {{pad}}'
    with running(case, 'conv_forward_naive'):
        out, _ = conv_forward_naive(x, w, b, {{'stride': stride, 'pad': pad}})
    check_close(case, 'out', out, reference_conv(x, w, b, hw(stride), hw(pad)))
'''
    header = f"# Tests: conv_forward_naive, {title} ({points_text(points)})\n"
    source = header + CONV_FORWARD_IMPORTS
    return graded(grade_id, points, source + visible, AS_PAIR + hidden, references=[CONV])


CONV_FORWARD_TESTS = [
    _conv_forward_test('test_conv_forward_basic', 2, 'stride 1, pad 1', '''
x, w, b = random_arrays(1, (2, 3, 5, 5), (4, 3, 3, 3), (4,))
conv_param = {'stride': 1, 'pad': 1}
out, _ = conv_forward_naive(x, w, b, conv_param)
check_close('stride 1, pad 1', 'out', out, conv_forward_fast(x, w, b, conv_param)[0])
print("visible test passed")
''', [((2, 3, 6, 5), (3, 3, 3, 3), 1, 1), ((1, 2, 4, 4), (5, 2, 3, 3), 1, 1),
      ((3, 1, 7, 6), (2, 1, 5, 5), 1, 1)], seed=201),
    _conv_forward_test('test_conv_forward_stride', 1, 'stride 2', '''
x, w, b = random_arrays(2, (2, 3, 7, 7), (4, 3, 3, 3), (4,))
conv_param = {'stride': 2, 'pad': 1}
out, _ = conv_forward_naive(x, w, b, conv_param)
check_close('stride 2, pad 1', 'out', out, conv_forward_fast(x, w, b, conv_param)[0])
print("visible test passed")
''', [((2, 3, 9, 8), (3, 3, 3, 3), 2, 1), ((1, 2, 10, 7), (2, 2, 3, 3), 3, 1)], seed=202),
    _conv_forward_test('test_conv_forward_no_pad', 1, 'no padding', '''
# The worked example: the input 1..16 as one 4x4 channel and two 3x3 filters.
x = np.arange(1.0, 17.0).reshape(1, 1, 4, 4)
w = np.array([[[[0, 0, 0], [0, 1, 0], [0, -1, 0]]],
              [[[0, 0, 0], [0, -1, 1], [0, 0, 0]]]], dtype=float)
out, _ = conv_forward_naive(x, w, np.zeros(2), {'stride': 1, 'pad': 0})
expected = np.array([[[[-4, -4], [-4, -4]], [[1, 1], [1, 1]]]], dtype=float)
check_close('worked example, pad 0', 'out', out, expected)
print("visible test passed")
''', [((2, 3, 6, 6), (4, 3, 3, 3), 1, 0), ((2, 1, 5, 7), (3, 1, 5, 5), 1, 0)], seed=203),
    _conv_forward_test('test_conv_forward_nonsquare', 1, 'non-square kernel', '''
x, w, b = random_arrays(4, (2, 3, 6, 7), (3, 3, 3, 5), (3,))
conv_param = {'stride': 1, 'pad': 1}
out, _ = conv_forward_naive(x, w, b, conv_param)
check_close('3x5 kernel, stride 1, pad 1', 'out', out, conv_forward_fast(x, w, b, conv_param)[0])
print("visible test passed")
''', [((2, 2, 7, 6), (3, 2, 2, 4), 1, 1), ((1, 3, 5, 8), (2, 3, 5, 3), 1, 2)], seed=204),
    _conv_forward_test('test_conv_forward_pairs', 1, '(height, width) pairs', '''
# stride and pad may also be (height, width) pairs, with different values per axis.
x, w, b = random_arrays(5, (2, 3, 7, 8), (3, 3, 3, 3), (3,))
conv_param = {'stride': (2, 1), 'pad': (1, 2)}
out, _ = conv_forward_naive(x, w, b, conv_param)
check_close('stride (2, 1), pad (1, 2)', 'out', out, conv_forward_fast(x, w, b, conv_param)[0])
print("visible test passed")
''', [((2, 2, 9, 6), (3, 2, 3, 3), (3, 2), (1, 0)), ((1, 3, 6, 9), (2, 3, 2, 2), (1, 3), (0, 2))],
        seed=205),
]

CONV_BACKWARD_MD = r'''
## 3. Convolution: backward pass

`conv_backward_naive(dout, cache)` gets the upstream gradient `dout` of shape
`(N, F, H_out, W_out)` and the cache of your forward pass, and returns `dx`, `dw`, `db`.
Every output position used one window of the padded input: its gradient flows back into
that window of `dx` (weighted by the filter) and into `dw` (weighted by the window).

Differentiating the forward formula term by term gives the three gradients:

* **`db` is the sum of `dout`** over everything but the filter:
  $\;db[f] = \sum_{n,i,j} \text{dout}[n, f, i, j]$.
* **`dw` is the correlation of the padded input with `dout`**: the same sliding sum as
  the forward pass, with `dout` in the role of the filter,
  $$dw[f, c, p, q] = \sum_{n,i,j} \text{dout}[n, f, i, j]\;
  \tilde x[n, c, i S_h + p, j S_w + q].$$
* **`dx` is the full convolution of `dout` with the filter**, i.e. a correlation with the
  filter rotated by 180 degrees: every input of a window receives the output's gradient
  times the weight it was multiplied by,
  $$d\tilde x[n, c, i S_h + p, j S_w + q] \mathrel{+}= \text{dout}[n, f, i, j]\;
  w[f, c, p, q]\quad\text{for all } n, f, i, j, p, q,$$
  and `dx` is $d\tilde x$ without its padding border.

The stride acts as a **dilation of `dout`**: put $S - 1$ zeros between its entries, pad
the result with $K - 1$ zeros, and slide the rotated filter over it with stride 1:

![dout of 2x2, dilated by the stride 2 to 3x3, padded by 2 to 7x7, correlated with the filter rotated by 180 degrees, gives the 5x5 gradient of the input](attachment:conv_backward.png)

(If the stride did not fit exactly, the last rows or columns of the padded input were
never in a window and their gradient is 0.) You do not have to build the dilated array:
the loop form above, one `+=` into a window of `dx_pad` and one into `dw[f]` per output
position, computes the same sums. Lecture notebook
[`02_convolution_forward_backward.ipynb`](../../notebooks/02_convolution_forward_backward.ipynb)
derives all three in one dimension and checks them on a 4x4 example by hand.

First check your gradients numerically: the next cell compares them with centered
differences of your own forward pass (relative errors around 1e-8 or smaller mean they
agree). The graded tests after it compare with the gradients of the fast layer.
'''

CONV_BACKWARD_NUMERIC = '''
# Numeric gradient check of your conv layer (not graded).
from nndl.conv_layers import conv_backward_naive, conv_forward_naive
from utils.gradient_check import eval_numerical_gradient_array, rel_error

x, w, b, dout = random_arrays(10, (2, 3, 5, 5), (3, 3, 3, 3), (3,), (2, 3, 3, 3))
conv_param = {'stride': 2, 'pad': 1}

def forward(x, w, b):
    return conv_forward_naive(x, w, b, conv_param)[0]


dx_num = eval_numerical_gradient_array(lambda x_: forward(x_, w, b), x, dout)
dw_num = eval_numerical_gradient_array(lambda w_: forward(x, w_, b), w, dout)
db_num = eval_numerical_gradient_array(lambda b_: forward(x, w, b_), b, dout)
_, cache = conv_forward_naive(x, w, b, conv_param)
dx, dw, db = conv_backward_naive(dout, cache)
print('dx error:', rel_error(dx, dx_num))
print('dw error:', rel_error(dw, dw_num))
print('db error:', rel_error(db, db_num))
'''

CONV_BACKWARD_IMPORTS = '''
import numpy as np
from nndl.conv_layers import conv_backward_naive, conv_forward_naive
from utils.checks import check_close, check_true, running
from utils.fast_layers import conv_backward_fast, conv_forward_fast
'''

CONV_BACKWARD_VISIBLE = '''
x, w, b = random_arrays({seed}, {x_shape}, {w_shape}, ({filters},))
conv_param = {{'stride': {stride}, 'pad': {pad}}}
out_fast, cache_fast = conv_forward_fast(x, w, b, conv_param)
dout = random_arrays({seed} + 100, out_fast.shape)[0]
_, cache = conv_forward_naive(x, w, b, conv_param)
dx, dw, db = conv_backward_naive(dout, cache)
expected = dict(zip(('dx', 'dw', 'db'), conv_backward_fast(dout, cache_fast)))
for name, got in zip(('dx', 'dw', 'db'), (dx, dw, db)):
    if name in {checked!r}:
        check_close('{title}', name, got, expected[name])
print("visible test passed")
'''


def _conv_backward_test(grade_id, points, title, checked, visible_case, hidden_cases, seed):
    """A graded cell for the gradients ``checked`` (of 'dx', 'dw', 'db') of conv_backward_naive.

    The backward pass always gets the cache of the student's own forward pass.
    """
    x_shape, w_shape, stride, pad = visible_case
    visible = CONV_BACKWARD_VISIBLE.format(seed=seed, x_shape=x_shape, w_shape=w_shape,
                                           filters=w_shape[0], stride=stride, pad=pad,
                                           title=title, checked=checked)
    hidden = f'''
rng = np.random.default_rng({seed})
for x_shape, w_shape, stride, pad in {hidden_cases!r}:
    x, w, b = (rng.standard_normal(x_shape), rng.standard_normal(w_shape),
               rng.standard_normal(w_shape[0]))
    (ph, pw), (sh, sw) = hw(pad), hw(stride)
    out_shape = (x_shape[0], w_shape[0], (x_shape[2] + 2 * ph - w_shape[2]) // sh + 1,
                 (x_shape[3] + 2 * pw - w_shape[3]) // sw + 1)
    dout = rng.standard_normal(out_shape)
    case = f'hidden: x {{x_shape}}, w {{w_shape}}, stride {{stride}}, pad {{pad}}'
    with running(case, 'conv_forward_naive'):
        _, cache = conv_forward_naive(x, w, b, {{'stride': stride, 'pad': pad}})
    with running(case, 'conv_backward_naive'):
        grads = conv_backward_naive(dout, cache)
    check_true(case, isinstance(grads, tuple) and len(grads) == 3,
               'conv_backward_naive must return the tuple (dx, dw, db)')
    expected = reference_conv_backward(x, w, dout, hw(stride), hw(pad))
    for name, got, want in zip(('dx', 'dw', 'db'), grads, expected):
        if name in {checked!r}:
            check_close(case, name, got, want)
'''
    header = f"# Tests: conv_backward_naive, {title} ({points_text(points)})\n"
    source = header + CONV_BACKWARD_IMPORTS
    return graded(grade_id, points, source + visible, AS_PAIR + hidden,
                  references=[CONV_BACKWARD])


BASIC_BACKWARD_CASE = ((2, 3, 5, 5), (4, 3, 3, 3), 1, 1)
BASIC_BACKWARD_HIDDEN = [((2, 3, 6, 5), (3, 3, 3, 3), 1, 1), ((1, 2, 4, 4), (5, 2, 3, 3), 1, 1)]

CONV_BACKWARD_TESTS = [
    _conv_backward_test('test_conv_backward_dx', 2, 'dx, stride 1, pad 1', ('dx',),
                        BASIC_BACKWARD_CASE, BASIC_BACKWARD_HIDDEN, seed=301),
    _conv_backward_test('test_conv_backward_dw', 2, 'dw, stride 1, pad 1', ('dw',),
                        BASIC_BACKWARD_CASE, BASIC_BACKWARD_HIDDEN, seed=306),
    _conv_backward_test('test_conv_backward_db', 1, 'db', ('db',),
                        BASIC_BACKWARD_CASE, [((3, 2, 6, 5), (3, 2, 3, 3), 1, 1)], seed=307),
    _conv_backward_test('test_conv_backward_stride', 1, 'dx and dw, stride 2', ('dx', 'dw'),
                        ((2, 3, 7, 7), (4, 3, 3, 3), 2, 1),
                        [((2, 3, 9, 8), (3, 3, 3, 3), 2, 1),
                         ((1, 2, 10, 7), (2, 2, 3, 3), 3, 1)], seed=302),
    _conv_backward_test('test_conv_backward_no_pad', 1, 'dx and dw, no padding', ('dx', 'dw'),
                        ((2, 3, 6, 6), (2, 3, 3, 3), 1, 0),
                        [((2, 3, 6, 6), (4, 3, 3, 3), 1, 0), ((1, 2, 5, 7), (3, 2, 5, 5), 1, 0)],
                        seed=303),
    _conv_backward_test('test_conv_backward_nonsquare', 1, 'dx and dw, non-square kernel',
                        ('dx', 'dw'), ((2, 3, 6, 7), (3, 3, 3, 5), 1, 1),
                        [((2, 2, 7, 6), (3, 2, 2, 4), 1, 1), ((1, 3, 5, 8), (2, 3, 5, 3), 1, 2)],
                        seed=304),
    _conv_backward_test('test_conv_backward_pairs', 1, 'dx and dw, (height, width) pairs',
                        ('dx', 'dw'), ((2, 3, 7, 8), (3, 3, 3, 3), (2, 1), (1, 2)),
                        [((2, 2, 9, 6), (3, 2, 3, 3), (3, 2), (1, 0)),
                         ((1, 3, 6, 9), (2, 3, 2, 2), (1, 3), (0, 2))], seed=305),
]

POOLING_MD = r'''
## 4. Max pooling

`max_pool_forward_naive(x, pool_param)` keeps the largest value of every
`pool_height x pool_width` window of each channel, windows `stride` apart;
`max_pool_backward_naive(dout, cache)` sends each output's gradient to the input that was
the maximum of its window. When windows overlap (a stride smaller than the window), an
input can be the maximum of several windows and then collects all their gradients
(`+=`, not `=`).

$$\text{out}[n, c, i, j] = \max_{0 \le p < PH,\; 0 \le q < PW} x[n, c, i S + p, j S + q]$$

**Ties.** A common way to write the backward pass is a mask, `window == window.max()`,
multiplied by the output's gradient. If the maximum occurs twice in a window, the mask
gives the **whole** gradient to **both** entries, so the layer passes on twice the
gradient it received. The maximum is not differentiable there: nudging either tied entry
up raises the output, nudging it down does not, so a centered numeric gradient gives each
of them one half.

![A 2x2 window with the maximum 3 twice: the mask gives 1 to both, argmax gives 1 to the first, the numeric gradient 0.5 to each](attachment:max_pool_ties.png)

Libraries (and `utils/fast_layers.py`) route the gradient to **one** maximum, the first
one `np.argmax` finds: the gradient then sums to exactly what came in, like a subgradient
of the maximum, and the forward pass only has to remember one index per window. Ties are
rare with real-valued activations but common after a ReLU (windows of zeros), so prefer
`np.argmax` (with `np.unravel_index` for the position in the window). The tests use inputs
without ties, so either way gets full marks here. Lecture notebook
[`03_pooling.ipynb`](../../notebooks/03_pooling.ipynb) works through the mask, ties and
overlapping windows.
'''

POOL_IMPORTS = '''
import numpy as np
from nndl.conv_layers import {forward}, {backward}
from utils.checks import check_close, running
from utils.fast_layers import {forward_fast}, {backward_fast}
'''

POOL_FORWARD_VISIBLE = '''
x = distinct_values({seed}, {x_shape})
pool_param = {param}
out, _ = {forward}(x, pool_param)
check_close('{title}', 'out', out, {kind}_pool_forward_fast(x, pool_param)[0])
'''

POOL_BACKWARD_VISIBLE = '''
x = distinct_values({seed}, {x_shape})
pool_param = {param}
out_fast, cache_fast = {kind}_pool_forward_fast(x, pool_param)
dout = np.random.default_rng({seed}).standard_normal(out_fast.shape)
_, cache = {forward}(x, pool_param)
dx = {backward}(dout, cache)
check_close('{title}', 'dx', dx, {kind}_pool_backward_fast(dout, cache_fast))
'''

POOL_FORWARD_CHECK = '''
    with running(case, '{forward}'):
        out, _ = {forward}(x, pool_param)
    check_close(case, 'out', out, reference_pool(x, window, hw(stride), '{kind}'))
'''

POOL_BACKWARD_CHECK = '''
    (ph, pw), (sh, sw) = window, hw(stride)
    dout = rng.standard_normal((*x_shape[:2], (x_shape[2] - ph) // sh + 1,
                                (x_shape[3] - pw) // sw + 1))
    with running(case, '{forward}'):
        _, cache = {forward}(x, pool_param)
    with running(case, '{backward}'):
        dx = {backward}(dout, cache)
    check_close(case, 'dx', dx, reference_pool_backward(x, dout, window, hw(stride), '{kind}'))
'''


def _pool_test(kind, directions, grade_id, points, title, visible_case, hidden_cases, seed):
    """A graded cell for max or average pooling: its forward and/or backward pass."""
    forward, backward = f'{kind}_pool_forward_naive', f'{kind}_pool_backward_naive'
    names = dict(forward=forward, backward=backward, kind=kind)
    imports = POOL_IMPORTS.format(forward_fast=f'{kind}_pool_forward_fast',
                                  backward_fast=f'{kind}_pool_backward_fast', **names)
    x_shape, window, stride = visible_case
    param = f"{{'pool_height': {window[0]}, 'pool_width': {window[1]}, 'stride': {stride!r}}}"
    visible = ''.join(template.format(seed=seed, x_shape=x_shape, param=param, title=title,
                                      **names)
                      for direction, template in (('forward', POOL_FORWARD_VISIBLE),
                                                  ('backward', POOL_BACKWARD_VISIBLE))
                      if direction in directions) + 'print("visible test passed")\n'
    checks = ''.join(template.format(**names) for direction, template in
                     (('forward', POOL_FORWARD_CHECK), ('backward', POOL_BACKWARD_CHECK))
                     if direction in directions)
    hidden = f'''
rng = np.random.default_rng({seed})
for x_shape, window, stride in {hidden_cases!r}:
    size = int(np.prod(x_shape))
    x = (rng.permutation(size).reshape(x_shape) - size / 2) / 7.0   # no ties
    pool_param = {{'pool_height': window[0], 'pool_width': window[1], 'stride': stride}}
    case = f'hidden: x {{x_shape}}, window {{window}}, stride {{stride}}'
''' + checks
    tested = ' and '.join(forward if d == 'forward' else backward for d in directions)
    source = f"# Tests: {tested}, {title} ({points_text(points)})\n" + imports
    return graded(grade_id, points, source + visible, AS_PAIR + hidden,
                  references=[POOL_BACKWARD if 'backward' in directions else POOL])


# (x shape, (pool_height, pool_width), stride) of the visible test and the hidden ones.
POOL_CASES = {
    'basic': (((2, 3, 4, 6), (2, 2), 2), [((2, 3, 8, 6), (2, 2), 2), ((1, 2, 6, 4), (2, 2), 2)]),
    'overlap': (((2, 2, 7, 7), (3, 3), 2), [((2, 3, 9, 7), (3, 3), 2), ((1, 2, 6, 6), (3, 3), 1),
                                            ((2, 1, 5, 6), (2, 2), 1)]),
    'nonsquare': (((2, 2, 5, 9), (2, 3), 3), [((2, 2, 8, 9), (2, 3), 3),
                                              ((1, 3, 8, 5), (4, 1), 4)]),
    'pairs': (((2, 2, 4, 9), (2, 3), (2, 3)), [((2, 2, 6, 9), (2, 3), (2, 3)),
                                               ((1, 3, 8, 5), (4, 1), (4, 1)),
                                               ((2, 1, 7, 8), (2, 2), (3, 2))]),
}
POOL_TITLES = {'basic': '2x2 windows, stride 2', 'overlap': 'overlapping windows',
               'nonsquare': 'non-square windows', 'pairs': '(height, width) pairs'}


def _pool_tests(kind, cells):
    """[(directions, case, points)] -> the graded cells of ``kind`` pooling."""
    tests = []
    for directions, case, points, seed in cells:
        suffix = directions[0] if len(directions) == 1 else ''
        grade_id = f"test_{kind}_pool_{suffix + '_' if suffix else ''}{case}"
        visible_case, hidden_cases = POOL_CASES[case]
        tests.append(_pool_test(kind, directions, grade_id, points, POOL_TITLES[case],
                                visible_case, hidden_cases, seed))
    return tests


MAX_POOL_TESTS = _pool_tests('max', [
    (('forward',), 'basic', 1, 401), (('forward',), 'overlap', 1, 402),
    (('forward',), 'nonsquare', 1, 403),
    (('backward',), 'basic', 1, 411), (('backward',), 'overlap', 2, 412),
    (('backward',), 'nonsquare', 1, 413),
    (('forward', 'backward'), 'pairs', 1, 421),
])


AVG_POOL_MD = r'''
## 5. Average pooling

`avg_pool_forward_naive` and `avg_pool_backward_naive` take the same arguments as max
pooling; every output is the mean of its window, so each input of a window receives
`1 / (pool_height * pool_width)` of the window's gradient (summed over overlapping windows):

$$\text{out}[n, c, i, j] = \frac{1}{PH \cdot PW} \sum_{p, q} x[n, c, i S + p, j S + q],
\qquad dx[n, c, h, w] = \sum_{(i, j):\ (h, w) \in \text{window}(i, j)}
\frac{\text{dout}[n, c, i, j]}{PH \cdot PW}.$$

Unlike max pooling, every input of a window gets a share, whatever the values, so the
backward pass needs only the shapes and the pooling parameters from the cache. An input
in no window (when the stride does not fit) gets 0.
'''

AVG_POOL_TESTS = _pool_tests('avg', [
    (('forward',), 'basic', 1, 501), (('forward',), 'overlap', 1, 502),
    (('backward',), 'basic', 1, 511), (('backward',), 'overlap', 1, 512),
    (('forward', 'backward'), 'pairs', 1, 521),
])


FAST_MD = '''
## 6. Fast layers

`utils/fast_layers.py` computes the same layers without Python loops over positions (the
convolution becomes one matrix product, "im2col"). The next cell times both versions on
the same inputs and checks that they agree. It is not graded and is skipped by the
autograder.
'''

FAST_TIMING = '''
# NBVAL_IGNORE_OUTPUT
# Naive versus fast layers: agreement and run times (not graded).
from nndl.conv_layers import (conv_backward_naive, conv_forward_naive, max_pool_backward_naive,
                              max_pool_forward_naive)
from utils.fast_layers import (conv_backward_fast, conv_forward_fast, max_pool_backward_fast,
                               max_pool_forward_fast)
from utils.gradient_check import rel_error


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


if GRADING:
    print("skipped while autograding")
else:
    x, w, b = random_arrays(20, (20, 3, 32, 32), (16, 3, 3, 3), (16,))
    conv_param = {'stride': 1, 'pad': 1}
    pool_param = {'pool_height': 2, 'pool_width': 2, 'stride': 2}
    (out_naive, cache_naive), t_naive = timed(conv_forward_naive, x, w, b, conv_param)
    (out_fast, cache_fast), t_fast = timed(conv_forward_fast, x, w, b, conv_param)
    print(f"conv forward:  naive {t_naive:.4f} s, fast {t_fast:.4f} s, "
          f"difference {rel_error(out_naive, out_fast):.1e}")
    dout = random_arrays(21, out_naive.shape)[0]
    grads_naive, t_naive = timed(conv_backward_naive, dout, cache_naive)
    grads_fast, t_fast = timed(conv_backward_fast, dout, cache_fast)
    print(f"conv backward: naive {t_naive:.4f} s, fast {t_fast:.4f} s, difference "
          f"{max(rel_error(a, b) for a, b in zip(grads_naive, grads_fast)):.1e}")
    x = distinct_values(22, (20, 16, 32, 32))
    (out_naive, cache_naive), t_naive = timed(max_pool_forward_naive, x, pool_param)
    (out_fast, cache_fast), t_fast = timed(max_pool_forward_fast, x, pool_param)
    print(f"pool forward:  naive {t_naive:.4f} s, fast {t_fast:.4f} s, "
          f"difference {rel_error(out_naive, out_fast):.1e}")
    dout = random_arrays(23, out_naive.shape)[0]
    dx_naive, t_naive = timed(max_pool_backward_naive, dout, cache_naive)
    dx_fast, t_fast = timed(max_pool_backward_fast, dout, cache_fast)
    print(f"pool backward: naive {t_naive:.4f} s, fast {t_fast:.4f} s, "
          f"difference {rel_error(dx_naive, dx_fast):.1e}")
'''

SANDWICH_MD = '''
## 7. Sandwich layers

A convolution is usually followed by the same few layers, so `nndl/conv_layer_utils.py`
chains them: `conv_relu_forward` (convolution, ReLU) and `conv_relu_pool_forward`
(convolution, ReLU, 2x2 max pooling), each with its backward pass. They are built on the
fast layers and are given to you; the next cell checks their gradients numerically, the
way you would check any new layer (not graded, skipped by the autograder).
'''

SANDWICH_CHECK = '''
# NBVAL_IGNORE_OUTPUT
# Numeric gradient check of the sandwich layers (not graded).
from nndl.conv_layer_utils import (conv_relu_backward, conv_relu_forward,
                                    conv_relu_pool_backward, conv_relu_pool_forward)
from utils.gradient_check import eval_numerical_gradient_array, rel_error

if GRADING:
    print("skipped while autograding")
else:
    conv_param = {'stride': 1, 'pad': 1}
    pool_param = {'pool_height': 2, 'pool_width': 2, 'stride': 2}
    layers = {
        'conv_relu': (lambda x, w, b: conv_relu_forward(x, w, b, conv_param), conv_relu_backward),
        'conv_relu_pool': (lambda x, w, b: conv_relu_pool_forward(x, w, b, conv_param, pool_param),
                           conv_relu_pool_backward),
    }
    x, w, b = random_arrays(30, (2, 3, 8, 8), (3, 3, 3, 3), (3,))
    for name, (forward, backward) in layers.items():
        out, cache = forward(x, w, b)
        dout = random_arrays(31, out.shape)[0]
        dx, dw, db = backward(dout, cache)
        dx_num = eval_numerical_gradient_array(lambda x_: forward(x_, w, b)[0], x, dout)
        dw_num = eval_numerical_gradient_array(lambda w_: forward(x, w_, b)[0], w, dout)
        db_num = eval_numerical_gradient_array(lambda b_: forward(x, w, b_)[0], b, dout)
        print(f"{name}: dx error {rel_error(dx, dx_num):.1e}, "
              f"dw error {rel_error(dw, dw_num):.1e}, db error {rel_error(db, db_num):.1e}")
'''

QUESTIONS_MD = '''
## 8. Questions

Answer in a few sentences each, in the cells below (graded by hand).
'''

WHY_3X3 = '''
**Question 1 (2 points).** Modern networks (VGG and later) stack several 3x3 convolutions
where older ones used a single 5x5 or 7x7 convolution. Compare three stacked 3x3 layers
with one 7x7 layer, both with $C$ channels in and out: what region of the input does one
output see, how many weights does each option have, and what else differs?

### BEGIN SOLUTION
Three stacked 3x3 convolutions (stride 1) see a 7x7 region of the input, the same
receptive field as one 7x7 convolution: each layer widens it by 2. They have
$3 \\cdot 9 C^2 = 27 C^2$ weights against $49 C^2$ for the 7x7 layer, about 45 % fewer, and
they put a non-linearity after each layer, three instead of one, so the same receptive
field computes a richer function with fewer parameters (and less computation).
### END SOLUTION
'''

ONE_BY_ONE = '''
**Question 2 (2 points).** What does a 1x1 convolution compute, and what is it used for?

### BEGIN SOLUTION
At every spatial position it applies the same fully connected layer to the vector of
input channels: each output channel is a weighted sum of the input channels at that
pixel, with no spatial neighbours involved. It changes the number of channels cheaply
(a bottleneck that shrinks C before an expensive 3x3 or 5x5 convolution, as in Inception,
ResNet and MobileNet), mixes information across channels, and, followed by a
non-linearity, adds depth at little cost ("network in network").
### END SOLUTION
'''


def build():
    """The ConvolutionalNetworks notebook."""
    return notebook(NAME, [
        markdown('conv_intro', INTRO),
        setup('conv_setup', SETUP + HELPERS),
        markdown('conv_arithmetic', ARITHMETIC),
        graded('test_output_size', 1, TEST_OUTPUT_SIZE, HIDDEN_OUTPUT_SIZE),
        graded('test_param_count', 1, TEST_PARAM_COUNT, HIDDEN_PARAM_COUNT),
        markdown('conv_forward', CONV_FORWARD, figures=['conv_forward']),
        *CONV_FORWARD_TESTS,
        markdown('conv_backward', CONV_BACKWARD_MD, figures=['conv_backward']),
        code(CONV_BACKWARD_NUMERIC),
        *CONV_BACKWARD_TESTS,
        markdown('max_pooling', POOLING_MD, figures=['max_pool_ties']),
        *MAX_POOL_TESTS,
        markdown('avg_pooling', AVG_POOL_MD),
        *AVG_POOL_TESTS,
        markdown('fast_layers', FAST_MD),
        code(FAST_TIMING),
        markdown('sandwich_layers', SANDWICH_MD),
        code(SANDWICH_CHECK),
        markdown('questions', QUESTIONS_MD),
        answer('why_3x3', 2, WHY_3X3),
        answer('one_by_one', 2, ONE_BY_ONE),
    ])
