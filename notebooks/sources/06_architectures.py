# Source of notebooks/06_architectures.ipynb (build: python notebooks/build_notebooks.py)

# %% [markdown]
# # 6. Architectures: from LeNet-5 to MobileNet
#
# The layers of the previous notebooks are enough to describe every classic
# convolutional network. Here we compute, from layer lists, what each design costs and
# what each new idea bought:
#
# 1. a small calculator for shapes, parameters, multiply-adds and receptive fields;
# 2. LeNet-5 (built with the course's layers: `Flatten`, He initialization, and what goes
#    wrong without them), AlexNet and VGG-16;
# 3. why VGG stacks 3x3 filters instead of using one 7x7;
# 4. what a 1x1 convolution does;
# 5. ResNet: residual connections and global average pooling;
# 6. MobileNet: depthwise separable convolutions;
# 7. GoogLeNet, DenseNet, EfficientNet and ConvNeXt, and all nine side by side;
# 8. feature maps of a small network trained on a sample of MNIST;
# 9. a short reading list.
#
# Every number below is computed by the code in this notebook; where a published value
# exists, the notebook checks that it comes out.

# %%
# %matplotlib inline
import time
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from nndl.conv_layers import (avg_pool_backward_naive, avg_pool_forward_naive,
                              conv_backward_naive, conv_forward_naive, conv_output_size,
                              conv_param_count)
from nndl.layers import (affine_backward, affine_forward, relu_backward, relu_forward,
                         softmax_loss)
from nndl.models import Classifier, LeNet5
from nndl.modules import Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential
from utils.solver import Solver
from utils.data_utils import SAMPLE_DATA_DIR, get_MNIST_data
from utils.fast_layers import (conv_backward_fast, conv_forward_fast, max_pool_backward_fast,
                               max_pool_forward_fast)

# %% [markdown]
# ## 1. A calculator for layer lists
#
# A network is described as a list of layers. Walking through the list we track the
# shape `(C, H, W)` of the activations, and for each layer count
#
# * its **parameters**: `conv_param_count` for convolutions (a convolution with `groups`
#   splits its channels into independent groups, each filter seeing `C / groups` of
#   them), `2 C` for a batch normalization (a scale and a shift per channel),
#   `inputs * outputs + outputs` for a fully connected layer;
# * its **multiply-adds**: one per weight and output position;
# * the **receptive field**: how many input pixels (along one axis) can influence one
#   activation. A layer with kernel `k` and stride `s`, applied to activations whose
#   neighbours are `j` input pixels apart, widens the field by `(k - 1) j`; afterwards
#   neighbours are `j s` pixels apart.

# %%
@dataclass
class Layer:
    kind: str              # 'conv', 'dwconv' (depthwise), 'pool', 'bn', 'relu', 'fc', 'gap'
    size: int = 0          # output channels ('conv') or units ('fc')
    kernel: int = 1
    stride: int = 1
    pad: int = 0
    groups: int = 1
    bias: bool = True


def conv(size, kernel, stride=1, pad=0, groups=1, bias=True):
    return Layer("conv", size, kernel, stride, pad, groups, bias)


def dwconv(kernel, stride=1, pad=0):
    return Layer("dwconv", 0, kernel, stride, pad, bias=False)


def pool(kernel, stride, pad=0):
    return Layer("pool", kernel=kernel, stride=stride, pad=pad)


def fc(size):
    return Layer("fc", size)


relu, bn, gap = Layer("relu"), Layer("bn"), Layer("gap")


def walk(layers, input_shape, show=False):
    """Shapes, parameters, multiply-adds and receptive field of a list of layers.

    Returns a dict with 'params', 'macs' (multiply-adds), 'relus', and per layer a row
    (kind, output shape, params, macs, receptive field).
    """
    channels, height, width = input_shape
    field, jump = 1, 1
    rows, total_params, total_macs, relus = [], 0, 0, 0
    for layer in layers:
        params = macs = 0
        if layer.kind in ("conv", "dwconv", "pool"):
            out_h, out_w = conv_output_size((height, width), layer.kernel, layer.stride,
                                            layer.pad)
            field += (layer.kernel - 1) * jump
            jump *= layer.stride
            if layer.kind == "conv":
                params = conv_param_count(channels // layer.groups, layer.size, layer.kernel,
                                          bias=layer.bias)
                macs = out_h * out_w * layer.size * (channels // layer.groups) * layer.kernel ** 2
                channels = layer.size
            elif layer.kind == "dwconv":   # one kernel x kernel filter per channel
                params = channels * layer.kernel ** 2
                macs = out_h * out_w * params
            height, width = out_h, out_w
        elif layer.kind == "bn":
            params = 2 * channels
        elif layer.kind == "relu":
            relus += 1
        elif layer.kind == "gap":          # global average pooling
            height = width = 1
        elif layer.kind == "fc":
            inputs = channels * height * width
            params = macs = inputs * layer.size
            params += layer.size
            channels, height, width = layer.size, 1, 1
        else:
            raise ValueError(f"unknown layer kind {layer.kind!r}")
        total_params += params
        total_macs += macs
        rows.append((layer.kind, (channels, height, width), params, macs, field))
    if show:
        print(f"{'layer':>7} {'output (C, H, W)':>18} {'params':>12} {'mult-adds':>15} {'RF':>5}")
        for kind, shape, params, macs, field_size in rows:
            if kind not in ("relu", "bn"):
                print(f"{kind:>7} {str(shape):>18} {params:>12,} {macs:>15,} {field_size:>5}")
        print(f"{'total':>7} {'':>18} {total_params:>12,} {total_macs:>15,}")
    return {"params": total_params, "macs": total_macs, "relus": relus, "rows": rows}


# %% [markdown]
# ## 2. LeNet-5, AlexNet, VGG-16
#
# **LeNet-5** (LeCun et al., 1998) reads 32x32 digit images: two rounds of 5x5
# convolution and 2x2 subsampling, a 5x5 convolution that reduces the map to 1x1 (so it is
# really a fully connected layer), then two fully connected layers. The modern reading,
# with every C3 map connected to every S2 map and plain max pooling:

# %%
lenet5 = [conv(6, 5), relu, pool(2, 2), conv(16, 5), relu, pool(2, 2),
          conv(120, 5), relu, fc(84), relu, fc(10)]
lenet = walk(lenet5, (1, 32, 32), show=True)

# %% [markdown]
# The original differs in two places. Its subsampling layers had one trainable
# coefficient and one bias per map, and, to save computation and break symmetry, each of
# the 16 C3 maps was connected to only some of the 6 S2 maps: six of them to 3 maps, nine
# to 4 and one to all 6. Its output layer compared F6 with fixed codes for the 10
# classes instead of learning weights. Counting the trainable parameters layer by layer
# gives the paper's round total:

# %%
c1 = conv_param_count(1, 6, 5)
s2 = 6 * 2
c3 = 25 * (6 * 3 + 9 * 4 + 1 * 6) + 16        # 5x5 weights per connected map, 16 biases
s4 = 16 * 2
c5 = conv_param_count(16, 120, 5)
f6 = 120 * 84 + 84
original = c1 + s2 + c3 + s4 + c5 + f6
print(f"C1 {c1}, S2 {s2}, C3 {c3:,}, S4 {s4}, C5 {c5:,}, F6 {f6:,}: total {original:,}")
assert (c3, original) == (1_516, 60_000)

# %% [markdown]
# ### LeNet-5 in the course's code: `Flatten` and He initialization
#
# `nndl.models.LeNet5` builds the modern reading from the layer objects of `nndl.modules`
# for 28x28 MNIST digits (padding 2 in the first convolution stands in for the 32x32
# input). Two pieces are new compared with the layer functions of the assignment:
#
# * **`Flatten`** turns the feature maps `(N, 16, 5, 5)` into vectors `(N, 400)`, the input
#   that a fully connected layer expects. It has no parameters; its backward pass reshapes
#   the gradient back to `(N, 16, 5, 5)`. (Here it replaces the C5 "convolution" that
#   covers the whole 5x5 map: the two compute the same thing.)
# * **He initialization.** Every `Conv2d` and `Linear` draws its weights from a normal
#   distribution with standard deviation $\sqrt{2 / n_\text{in}}$ (He et al., 2015),
#   where $n_\text{in}$, the *fan-in*, is the number of inputs of one unit: `C * K * K`
#   for a convolution, `D` for a fully connected layer. Biases start at zero.
#
# The shapes as a batch of two digits goes through, layer by layer:

# %%
lenet_model = LeNet5(in_channels=1, num_classes=10, seed=0)
activation = np.zeros((2, 1, 28, 28), np.float32)
for index, layer in enumerate(lenet_model.network):
    activation = layer.forward(activation)
    weight = layer.params.get("weight")
    if weight is None:
        detail = ""
    else:
        fan_in = int(np.prod(weight.shape[1:])) if weight.ndim == 4 else weight.shape[0]
        detail = (f"  weight {str(weight.shape):>16}: fan_in {fan_in:>3}, "
                  f"He std {np.sqrt(2 / fan_in):.3f}, drawn std {weight.std():.3f}")
    print(f"{index:>2} {layer!r:<46} -> {str(activation.shape):<15}{detail}")
flatten = lenet_model.network[6]
assert isinstance(flatten, Flatten)
assert flatten.backward(np.ones((2, 400))).shape == (2, 16, 5, 5)

# %% [markdown]
# Why $\sqrt{2 / n_\text{in}}$? One unit adds up $n_\text{in}$ products $w_i x_i$. With
# independent weights of mean 0, the variance of the sum is
# $n_\text{in} \cdot \text{Var}(w) \cdot E[x^2]$, and a ReLU keeps only the positive
# half of its input, which halves $E[x^2]$. So $\text{Var}(w) = 2 / n_\text{in}$ keeps the
# size of the signal the same from layer to layer. A fixed small scale such as 0.01
# shrinks it by the factor $0.01 \sqrt{n_\text{in} / 2}$ at *every* layer, and the
# gradients flowing back shrink the same way; a large one makes both explode. Ten fully
# connected ReLU layers of 256 units, on random inputs:

# %%
# NBVAL_IGNORE_OUTPUT
# (statistics of random draws; the asserts check what matters)
signal_rng = np.random.default_rng(3)
inputs = signal_rng.standard_normal((500, 256))
scales = {"He, sqrt(2/256) = 0.088": np.sqrt(2 / 256), "0.01": 0.01, "0.2": 0.2}
signal = {}
for label, scale in scales.items():
    h, stds = inputs, []
    for _ in range(10):
        h = np.maximum(h @ (scale * signal_rng.standard_normal((256, 256))), 0)
        stds.append(h.std())
    signal[label] = stds
    print(f"weight std {label:>24}: activation std after layers 1, 5, 10: "
          f"{stds[0]:.2g}, {stds[4]:.2g}, {stds[9]:.2g}")
fig, ax = plt.subplots(figsize=(7, 3))
for label, stds in signal.items():
    ax.semilogy(range(1, 11), stds, "-o", label=f"weight std {label}")
ax.set_xlabel("layer")
ax.set_ylabel("std of the activations")
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()
assert 0.3 < signal["He, sqrt(2/256) = 0.088"][9] < 3
assert signal["0.01"][9] < 1e-8 and signal["0.2"][9] > 1e3

# %% [markdown]
# ### A network that does not train
#
# The effect is visible even in a network of two layers. Train on the 1,000 MNIST digits
# that ship with the course (`data_sample/`: 900 for training, 100 for validation; 500
# test digits) for 4 epochs, batches of 50, two ways:
#
# * **untuned:** a 5x5 convolution with 8 filters, ReLU, no pooling, a fully connected
#   layer to the 10 classes; every weight drawn with standard deviation 0.01; plain SGD
#   with learning rate 0.01;
# * **the course's choices:** the same convolution with He initialization, 2x2 max
#   pooling, and SGD with momentum 0.9 at learning rate 0.05 (the network of section 8).
#
# And, to see which change matters, the untuned network with only one of them changed.

# %%
mnist_small = get_MNIST_data(num_training=900, num_validation=100, num_test=500,
                             data_dir=SAMPLE_DATA_DIR)
mnist_small = {name: (value / 255).astype(np.float32) if name.startswith("X") else value
               for name, value in mnist_small.items()}


def small_convnet(weight_scale, pool, seed=1):
    """conv 8@5x5 (pad 2) - relu - [2x2 max pool] - fully connected to 10 classes."""
    init = {"weight_scale": weight_scale, "seed": np.random.default_rng(seed)}
    layers = [Conv2d(1, 8, 5, pad=2, **init), ReLU()] + ([MaxPool2d(2)] if pool else [])
    side = 14 if pool else 28
    return Classifier(Sequential(*layers, Flatten(), Linear(8 * side * side, 10, **init)))


def train_small(model, update_rule, optim_config):
    solver = Solver(model, mnist_small, update_rule=update_rule, optim_config=optim_config,
                    batch_size=50, num_epochs=4, print_every=0, verbose=False, seed=0)
    solver.train()
    test_accuracy = (model.loss(mnist_small["X_test"]).argmax(axis=1)
                     == mnist_small["y_test"]).mean()
    return solver, test_accuracy


sgd_slow = ("sgd", {"learning_rate": 1e-2})
momentum = ("sgd_momentum", {"learning_rate": 5e-2, "momentum": 0.9})
runs = {
    "untuned: 0.01 init, no pooling, SGD 0.01": (small_convnet(0.01, False), *sgd_slow),
    "untuned + He initialization": (small_convnet(None, False), *sgd_slow),
    "untuned + pooling": (small_convnet(0.01, True), *sgd_slow),
    "untuned + momentum 0.9, rate 0.05": (small_convnet(0.01, False), *momentum),
    "course: He, pooling, momentum": (small_convnet(None, True), *momentum),
}
results = {name: train_small(model, rule, config) for name, (model, rule, config) in runs.items()}

# %%
# NBVAL_IGNORE_OUTPUT
# (losses and accuracies may differ in the last digits between machines)
for name, (solver, test_accuracy) in results.items():
    print(f"{name:>42}: loss {solver.loss_history[0]:.3f} -> {solver.loss_history[-1]:.3f}, "
          f"test accuracy {test_accuracy:.3f}")
fig, ax = plt.subplots(figsize=(8, 3.2))
for name, (solver, _) in results.items():
    ax.plot(solver.loss_history, label=name, linewidth=1)
ax.set_xlabel("step (batch of 50)")
ax.set_ylabel("training loss")
ax.legend(fontsize=7)
plt.tight_layout()
plt.show()
assert results["untuned: 0.01 init, no pooling, SGD 0.01"][1] < 0.5
assert results["course: He, pooling, momentum"][1] > 0.85

# %% [markdown]
# The untuned run hardly leaves the loss of a uniform guess, `log(10) = 2.30`, and ends
# far below the course network, which is near 90 % after the same 72 steps. The reason is
# the product of two small numbers. The gradient of the fully connected weights is
# proportional to the activations of the convolution, which are small because its
# weights are 0.01; the gradient of the convolution's weights passes through the fully
# connected weights, which are 0.01 too. Every step of SGD at 0.01 is therefore tiny, and
# the network sits on a plateau: its loss does fall, but far too slowly to matter in 72
# steps.
# Either fix on its own helps: He initialization gives the signals (and so the
# gradients) unit size, and momentum 0.9 at rate 0.05 takes steps about
# `0.05 / (1 - 0.9) = 0.5`, 50 times larger once it builds up. Pooling does not speed up
# learning; it cuts the fully connected layer to a quarter (15,680 weights instead of
# 62,720) and makes the features tolerant of small shifts, which matters more on larger
# data. Deep networks cannot be trained at all without a scale like He's (or batch
# normalization, which rescales every layer's output): with ten layers, the factor of the
# previous cell compounds.

# %% [markdown]
# **AlexNet** (Krizhevsky et al., 2012) won ImageNet 2012 with a much larger network
# trained on two GPUs: ReLUs, dropout, an 11x11 stride-4 first layer and overlapping 3x3
# stride-2 pooling. The input is usually quoted as 224x224, but with no padding in the
# first layer the arithmetic only works for 227: `(224 - 11) // 4 + 1 = 54` with three
# columns left over (a stride that does not fit), while `(227 - 11) / 4 + 1 = 55` exactly.
# Conv 2, 4 and 5 were split between the GPUs, each half seeing only half of the
# channels: a convolution with 2 groups.

# %%
print("224:", conv_output_size(224, 11, 4), " 227:", conv_output_size(227, 11, 4))


def alexnet(groups):
    return [conv(96, 11, 4), relu, pool(3, 2),
            conv(256, 5, 1, 2, groups=groups), relu, pool(3, 2),
            conv(384, 3, 1, 1), relu,
            conv(384, 3, 1, 1, groups=groups), relu,
            conv(256, 3, 1, 1, groups=groups), relu, pool(3, 2),
            fc(4096), relu, fc(4096), relu, fc(1000)]


alex = walk(alexnet(groups=2), (3, 227, 227), show=True)
alex_one_gpu = walk(alexnet(groups=1), (3, 227, 227))
print(f"\nthe same on one GPU (no groups): {alex_one_gpu['params']:,} parameters")
assert alex["params"] == 60_965_224 and alex_one_gpu["params"] == 62_378_344

# %% [markdown]
# **VGG-16** (Simonyan and Zisserman, 2014) uses a single kind of convolution, 3x3 with
# stride 1 and padding 1 (which keeps the size), and halves the maps with 2x2 pooling
# five times, doubling the channels after each of the first four.

# %%
def vgg(config):
    layers = []
    for item in config:
        layers += [pool(2, 2)] if item == "M" else [conv(item, 3, 1, 1), relu]
    return layers + [fc(4096), relu, fc(4096), relu, fc(1000)]


vgg16_config = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
                512, 512, 512, "M", 512, 512, 512, "M"]
vgg16 = walk(vgg(vgg16_config), (3, 224, 224), show=True)
assert vgg16["params"] == 138_357_544

# %% [markdown]
# Where do VGG's parameters and its computation sit? The three fully connected layers
# hold almost all parameters; the convolutions do almost all the work.

# %%
def share(network, kinds, key):
    column = {"params": 2, "macs": 3}[key]
    part = sum(row[column] for row in network["rows"] if row[0] in kinds)
    return part / network[key]


for name, net in [("AlexNet", alex), ("VGG-16", vgg16)]:
    print(f"{name}: fully connected layers hold {share(net, ['fc'], 'params'):.0%} of the "
          f"parameters and do {share(net, ['fc'], 'macs'):.0%} of the multiply-adds")

# %% [markdown]
# ## 3. Three 3x3 convolutions instead of one 7x7
#
# VGG's argument for small filters, computed rather than asserted. Compare a stack of
# three 3x3 convolutions (each followed by a ReLU) with a single 7x7 convolution, both
# mapping `C` channels to `C` channels (biases left out, as they do not change the
# comparison):

# %%
for channels in (64, 256):
    stack = walk([conv(channels, 3, bias=False), relu] * 3, (channels, 32, 32))
    single = walk([conv(channels, 7, bias=False), relu], (channels, 32, 32))
    print(f"C = {channels}: receptive field {stack['rows'][-1][4]} vs "
          f"{single['rows'][-1][4]}; parameters {stack['params']:,} = "
          f"{stack['params'] // channels ** 2} C^2 vs {single['params']:,} = "
          f"{single['params'] // channels ** 2} C^2; non-linearities {stack['relus']} vs "
          f"{single['relus']}")
    assert stack["rows"][-1][4] == single["rows"][-1][4] == 7
    assert (stack["params"], single["params"]) == (27 * channels ** 2, 49 * channels ** 2)

# %% [markdown]
# Same field of view, 45% fewer parameters (27 vs 49 per pair of channels), and three
# non-linearities instead of one, so the stack can represent more complex functions of
# the same 7x7 patch.
#
# The receptive field formula can be checked directly: backpropagate a gradient from one
# output pixel to the input and see which input pixels receive anything. With positive
# weights nothing cancels, so the non-zero region is exactly the receptive field.

# %%
def input_footprint(layers, input_size):
    """|d out[centre] / d x| through a stack of layers ('conv' with all-ones weights on
    one channel, or 'avgpool'), found by running the backward passes."""
    x = np.ones((1, 1, input_size, input_size))
    caches = []
    for kind, kernel, stride in layers:
        if kind == "conv":
            x, cache = conv_forward_naive(x, np.ones((1, 1, kernel, kernel)), np.zeros(1),
                                          {"stride": stride, "pad": 0})
        else:
            x, cache = avg_pool_forward_naive(x, {"pool_height": kernel, "pool_width": kernel,
                                                  "stride": stride})
        caches.append((kind, cache))
    grad = np.zeros_like(x)
    grad[0, 0, x.shape[2] // 2, x.shape[3] // 2] = 1
    for kind, cache in reversed(caches):
        grad = conv_backward_naive(grad, cache)[0] if kind == "conv" else \
            avg_pool_backward_naive(grad, cache)
    return grad[0, 0]


def field_of(footprint):
    """(height, width) of the region where the footprint is non-zero."""
    rows, cols = np.nonzero(footprint)
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


three_3x3 = input_footprint([("conv", 3, 1)] * 3, 11)
one_7x7 = input_footprint([("conv", 7, 1)], 11)
mixed_layers = [("conv", 3, 1), ("avgpool", 2, 2), ("conv", 3, 1), ("avgpool", 2, 2),
                ("conv", 3, 1)]
mixed = input_footprint(mixed_layers, 32)
mixed_walk = walk([conv(1, 3), pool(2, 2), conv(1, 3), pool(2, 2), conv(1, 3)], (1, 32, 32))
print("three 3x3:", field_of(three_3x3), " one 7x7:", field_of(one_7x7),
      " conv-pool-conv-pool-conv:", field_of(mixed), "(formula:", mixed_walk["rows"][-1][4], ")")
assert field_of(three_3x3) == field_of(one_7x7) == (7, 7)
assert field_of(mixed) == (mixed_walk["rows"][-1][4],) * 2

# %% [markdown]
# The footprints also show a difference the field size hides: in the stack, central
# pixels reach the output along many more paths than pixels at the edge of the field, so
# the *effective* receptive field is concentrated in the middle.

# %%
fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
for ax, (title, footprint) in zip(axes, [("three 3x3 convolutions", three_3x3),
                                         ("one 7x7 convolution", one_7x7),
                                         ("conv3-pool2-conv3-pool2-conv3", mixed)]):
    image = ax.imshow(footprint, cmap="viridis")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.colorbar(image, ax=ax, shrink=0.8)
fig.suptitle("gradient of one output pixel with respect to the input")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 4. What a 1x1 convolution does
#
# A 1x1 filter sees a single pixel, so it cannot detect spatial patterns. What it does is
# mix channels: at every pixel, the `C` input values are mapped to `F` outputs by the
# same `F x C` matrix. A 1x1 convolution is a fully connected layer applied to each pixel.

# %%
rng = np.random.default_rng(0)
x = rng.standard_normal((2, 6, 5, 5))
w = rng.standard_normal((4, 6, 1, 1))
b = rng.standard_normal(4)
out_conv, _ = conv_forward_naive(x, w, b, {"stride": 1, "pad": 0})

# Per pixel: out[n, :, i, j] = W @ x[n, :, i, j] + b, with W = w[:, :, 0, 0] of shape (F, C).
weights = w[:, :, 0, 0]
per_pixel = np.empty_like(out_conv)
for n, i, j in np.ndindex(2, 5, 5):
    per_pixel[n, :, i, j] = weights @ x[n, :, i, j] + b
# All pixels at once: one matrix product over the channel axis.
as_matmul = np.einsum("fc,nchw->nfhw", weights, x) + b[:, None, None]
assert np.allclose(per_pixel, out_conv) and np.allclose(as_matmul, out_conv)
print("1x1 convolution == the same F x C matrix applied to every pixel")

# %% [markdown]
# That makes it the cheap way to change the number of channels. GoogLeNet used 1x1
# convolutions to shrink the channels before its expensive 3x3 and 5x5 filters, and
# ResNet-50's *bottleneck* block does the same: 1x1 down to 64 channels, 3x3, 1x1 back up
# to 256. Compared with two 3x3 convolutions at 256 channels:

# %%
bottleneck = walk([conv(64, 1, bias=False), relu, conv(64, 3, 1, 1, bias=False), relu,
                   conv(256, 1, bias=False)], (256, 56, 56))
two_3x3 = walk([conv(256, 3, 1, 1, bias=False), relu, conv(256, 3, 1, 1, bias=False)],
               (256, 56, 56))
print(f"bottleneck 256-64-64-256: {bottleneck['params']:,} parameters; "
      f"two 3x3 at 256 channels: {two_3x3['params']:,} "
      f"({two_3x3['params'] / bottleneck['params']:.1f} times more)")

# %% [markdown]
# ## 5. ResNet
#
# Stacking more plain layers eventually makes networks *harder* to train, not just
# slower. ResNet (He et al., 2015) makes each block compute a correction to its input,
# `y = x + F(x)`, so that a block can do nothing by setting `F` to zero. In the backward
# pass the sum copies the upstream gradient to `x` directly, whatever `F` does:
# `dx = dy + dF`. Compare the gradient that reaches the input of ten plain layers with
# that of ten residual blocks, both with small random weights:

# %%
def conv_relu_stack(x, weights, residual):
    """Forward and backward through len(weights) 3x3 conv + ReLU layers (pad 1).
    Returns the norm of d(sum of the output)/dx."""
    caches = []
    for w_layer in weights:
        out, conv_cache = conv_forward_naive(x, w_layer, np.zeros(len(w_layer)),
                                             {"stride": 1, "pad": 1})
        out, relu_cache = relu_forward(out)
        caches.append((conv_cache, relu_cache))
        x = x + out if residual else out
    grad = np.ones_like(x)
    for conv_cache, relu_cache in reversed(caches):
        branch = conv_backward_naive(relu_backward(grad, relu_cache), conv_cache)[0]
        grad = grad + branch if residual else branch
    return np.linalg.norm(grad)


x_in = rng.standard_normal((1, 4, 8, 8))
small_weights = [0.05 * rng.standard_normal((4, 4, 3, 3)) for _ in range(10)]
plain_norm = conv_relu_stack(x_in, small_weights, residual=False)
residual_norm = conv_relu_stack(x_in, small_weights, residual=True)
assert plain_norm < 1e-3 * residual_norm

# %%
# NBVAL_IGNORE_OUTPUT
# (the exact norms depend on the random weights)
print(f"gradient norm at the input: plain {plain_norm:.1e}, residual {residual_norm:.1e}")

# %% [markdown]
# ResNet also drops VGG's huge fully connected layers: after the last block, **global
# average pooling** turns each channel into one number, and a single fully connected
# layer classifies. ResNet-18 has a 7x7 stride-2 stem and a 3x3 max pool, then four stages
# of two *basic blocks* (two 3x3 convolutions each, with batch normalization and no
# biases). The first block of stages 2-4 halves the size with stride 2 and matches the
# shortcut's shape with a 1x1 stride-2 convolution ("projection").

# %%
def resnet18(classes=1000):
    """Walk ResNet-18 branch by branch. Returns a dict with the total 'params' and
    'macs', and 'parts': a list of (name, output shape, params) for the stem, the four
    stages and the head."""
    stem = walk([conv(64, 7, 2, 3, bias=False), bn, relu, pool(3, 2, 1)], (3, 224, 224))
    shape = stem["rows"][-1][1]
    parts = [("stem", shape, stem["params"])]
    total_params, total_macs = stem["params"], stem["macs"]
    for stage, channels in enumerate([64, 128, 256, 512], start=1):
        stage_params = 0
        for block in range(2):
            stride = 2 if stage > 1 and block == 0 else 1
            branches = [[conv(channels, 3, stride, 1, bias=False), bn, relu,
                         conv(channels, 3, 1, 1, bias=False), bn]]
            if stride != 1 or shape[0] != channels:     # projection shortcut
                branches.append([conv(channels, 1, stride, bias=False), bn])
            walks = [walk(branch, shape) for branch in branches]
            stage_params += sum(result["params"] for result in walks)
            total_macs += sum(result["macs"] for result in walks)
            shape = walks[0]["rows"][-1][1]
        parts.append((f"stage {stage}", shape, stage_params))
        total_params += stage_params
    head = walk([gap, fc(classes)], shape)
    parts.append(("pool + fc", head["rows"][-1][1], head["params"]))
    return {"params": total_params + head["params"], "macs": total_macs + head["macs"],
            "parts": parts}


resnet = resnet18()
for name, shape, params in resnet["parts"]:
    print(f"{name:>9}: output {str(shape):>15}, {params:>10,} parameters")
print(f"ResNet-18: {resnet['params']:,} parameters, {resnet['macs']:,} multiply-adds")
assert resnet["params"] == 11_689_512

# %% [markdown]
# ## 6. MobileNet: depthwise separable convolutions
#
# A standard `K x K` convolution filters space and mixes channels in one step, with
# `K^2 C F` weights. MobileNet (Howard et al., 2017) splits it in two:
#
# * a **depthwise** convolution: one `K x K` filter per input channel, each channel on
#   its own (`K^2 C` weights);
# * a **pointwise** 1x1 convolution that mixes the channels (`C F` weights).
#
# The cost ratio is `(K^2 C + C F) / (K^2 C F) = 1/F + 1/K^2`, about 1/8 to 1/9 for 3x3
# filters. A depthwise convolution is a standard convolution whose filter bank is
# "diagonal" (filter `c` has non-zero weights only for channel `c`), which gives an easy
# check:

# %%
def depthwise_conv(x, w_depth, stride=1, pad=0):
    """x (N, C, H, W), w_depth (C, K, K): channel c filtered by w_depth[c] alone."""
    param = {"stride": stride, "pad": pad}
    return np.concatenate([conv_forward_naive(x[:, c:c + 1], w_depth[c][None, None],
                                              np.zeros(1), param)[0]
                           for c in range(x.shape[1])], axis=1)


channels, filters = 6, 10
x = rng.standard_normal((2, channels, 8, 8))
w_depth = rng.standard_normal((channels, 3, 3))
w_point = rng.standard_normal((filters, channels, 1, 1))
separable = conv_forward_naive(depthwise_conv(x, w_depth, pad=1), w_point, np.zeros(filters),
                               {"stride": 1, "pad": 0})[0]

diagonal_bank = np.zeros((channels, channels, 3, 3))
diagonal_bank[np.arange(channels), np.arange(channels)] = w_depth
as_full_conv = conv_forward_naive(x, diagonal_bank, np.zeros(channels), {"stride": 1, "pad": 1})[0]
assert np.allclose(depthwise_conv(x, w_depth, pad=1), as_full_conv)
# Equivalently, one standard conv with the product filter w[f, c] = w_point[f, c] * w_depth[c]:
combined = w_point[:, :, 0, 0, None, None] * w_depth[None]
assert np.allclose(separable, conv_forward_naive(x, combined, np.zeros(filters),
                                                 {"stride": 1, "pad": 1})[0])
for c_in, c_out in [(32, 64), (512, 512), (1024, 1024)]:
    standard = conv_param_count(c_in, c_out, 3, bias=False)
    split = c_in * 9 + conv_param_count(c_in, c_out, 1, bias=False)
    print(f"{c_in:>4} -> {c_out:>4} channels: standard {standard:>9,}, separable {split:>9,}, "
          f"ratio {split / standard:.3f} (1/F + 1/9 = {1 / c_out + 1 / 9:.3f})")

# %% [markdown]
# The whole MobileNet (width 1.0, 224x224 input): a standard 3x3 stride-2 convolution,
# thirteen depthwise separable blocks (each convolution followed by batch normalization
# and a ReLU), global average pooling and a classifier. Its published cost is 4.2 million
# parameters and 569 million multiply-adds:

# %%
def separable_block(out_channels, stride):
    return [dwconv(3, stride, 1), bn, relu, conv(out_channels, 1, bias=False), bn, relu]


mobilenet_layers = [conv(32, 3, 2, 1, bias=False), bn, relu]
for out_channels, stride in [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
                             (512, 1), (512, 1), (512, 1), (512, 1), (512, 1),
                             (1024, 2), (1024, 1)]:
    mobilenet_layers += separable_block(out_channels, stride)
mobilenet_layers += [gap, fc(1000)]
mobilenet = walk(mobilenet_layers, (3, 224, 224))
print(f"MobileNet: {mobilenet['params']:,} parameters, {mobilenet['macs']:,} multiply-adds")
assert round(mobilenet["params"] / 1e6, 1) == 4.2 and round(mobilenet["macs"] / 1e6) == 569

# %% [markdown]
# ## 7. GoogLeNet, DenseNet, EfficientNet, ConvNeXt
#
# Four later designs, each with one main idea. They have branches, concatenations and
# channel-wise scalings, so a network is no longer one list of layers: `Net` below walks
# the sequential parts with `walk` and the parallel ones branch by branch, adding up the
# parameters and multiply-adds (a `[]` branch is the identity). The published parameter
# counts (torchvision's models, which the asserts check) come out exactly.
#
# * **GoogLeNet** (Szegedy et al., 2014; "Inception v1"): each *Inception module* runs a
#   1x1, a 3x3 and a 5x5 convolution and a 3x3 max pooling side by side and concatenates
#   their outputs, with 1x1 convolutions shrinking the channels before the expensive
#   filters (section 4). Global average pooling replaces the big fully connected layers.
# * **DenseNet** (Huang et al., 2017): inside a dense block, every layer gets the
#   concatenation of *all* earlier feature maps and adds only 32 new channels (the growth
#   rate); transition layers (1x1 convolution, 2x2 average pooling) halve the channels and
#   the size between blocks. Features are reused instead of recomputed.
# * **EfficientNet** (Tan and Le, 2019): MobileNet's depthwise separable convolutions
#   in *inverted residual* blocks (1x1 expansion by 6, depthwise 3x3 or 5x5, 1x1
#   projection) with *squeeze-and-excitation*: global average pooling and two tiny
#   fully connected layers compute one scale per channel. B0 was found by architecture
#   search; B1-B7 scale its depth, width and resolution together.
# * **ConvNeXt** (Liu et al., 2022): a plain convolutional network modernised step by
#   step with the design choices of vision transformers: a 4x4 stride-4 "patchify" stem,
#   depthwise 7x7 convolutions, an inverted bottleneck (1x1 up to 4x the channels and
#   back), LayerNorm, GELU, and a learned scale per channel on each residual branch.
#
# Activations (ReLU, swish, GELU) have no parameters and count as `relu`; LayerNorm has a
# scale and a shift per channel, like batch normalization, and counts as `bn`.

# %%
class Net:
    """Accumulates parameters and multiply-adds of sequential and parallel parts."""

    def __init__(self, input_shape):
        self.shape, self.params, self.macs = input_shape, 0, 0

    def seq(self, layers):
        """Layers one after the other."""
        result = walk(layers, self.shape)
        self.params += result["params"]
        self.macs += result["macs"]
        self.shape = result["rows"][-1][1]

    def concat(self, branches):
        """Branches on the same input, outputs concatenated along the channels."""
        shapes = []
        for branch in branches:
            if branch:
                result = walk(branch, self.shape)
                self.params += result["params"]
                self.macs += result["macs"]
                shapes.append(result["rows"][-1][1])
            else:
                shapes.append(self.shape)
        assert len({shape[1:] for shape in shapes}) == 1, shapes
        self.shape = (sum(shape[0] for shape in shapes), *shapes[0][1:])

    def side(self, layers):
        """A side branch whose output only rescales the main path (squeeze-and-excitation)."""
        result = walk(layers, self.shape)
        self.params += result["params"]
        self.macs += result["macs"]


def conv_bn_relu(channels, kernel, stride=1, pad=0):
    return [conv(channels, kernel, stride, pad, bias=False), bn, relu]


def googlenet(branch3_kernel=5):
    """GoogLeNet with batch normalization (torchvision's version). Its max poolings use
    ceil_mode instead of padding 1; the sizes come out the same."""
    net = Net((3, 224, 224))
    net.seq(conv_bn_relu(64, 7, 2, 3) + [pool(3, 2, 1)] + conv_bn_relu(64, 1)
            + conv_bn_relu(192, 3, 1, 1) + [pool(3, 2, 1)])
    modules = [(64, 96, 128, 16, 32, 32), (128, 128, 192, 32, 96, 64), "pool",
               (192, 96, 208, 16, 48, 64), (160, 112, 224, 24, 64, 64),
               (128, 128, 256, 24, 64, 64), (112, 144, 288, 32, 64, 64),
               (256, 160, 320, 32, 128, 128), "pool",
               (256, 160, 320, 32, 128, 128), (384, 192, 384, 48, 128, 128)]
    k = branch3_kernel
    for module in modules:
        if module == "pool":
            net.seq([pool(3, 2, 1)])
            continue
        c1, reduce3, c3, reduce5, c5, pool_proj = module
        net.concat([conv_bn_relu(c1, 1),
                    conv_bn_relu(reduce3, 1) + conv_bn_relu(c3, 3, 1, 1),
                    conv_bn_relu(reduce5, 1) + conv_bn_relu(c5, k, 1, k // 2),
                    [pool(3, 1, 1)] + conv_bn_relu(pool_proj, 1)])
    net.seq([gap, fc(1000)])
    return net


def densenet121(growth=32):
    net = Net((3, 224, 224))
    net.seq(conv_bn_relu(64, 7, 2, 3) + [pool(3, 2, 1)])
    for block, layers in enumerate((6, 12, 24, 16)):
        for _ in range(layers):      # the identity and the new channels, concatenated
            net.concat([[], [bn, relu, conv(4 * growth, 1, bias=False),
                             bn, relu, conv(growth, 3, 1, 1, bias=False)]])
        if block < 3:                # transition: halve channels and size
            net.seq([bn, relu, conv(net.shape[0] // 2, 1, bias=False), pool(2, 2)])
    net.seq([bn, relu, gap, fc(1000)])
    return net


def efficientnet_b0():
    net = Net((3, 224, 224))
    net.seq(conv_bn_relu(32, 3, 2, 1))
    # (expansion, kernel, stride of the first block, output channels, blocks)
    for expansion, kernel, stride, out_channels, blocks in [
            (1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
            (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]:
        for block in range(blocks):
            in_channels = net.shape[0]
            hidden = in_channels * expansion
            expand = conv_bn_relu(hidden, 1) if expansion != 1 else []
            net.seq(expand + [dwconv(kernel, stride if block == 0 else 1, kernel // 2), bn,
                              relu])
            net.side([gap, conv(max(1, in_channels // 4), 1), relu, conv(hidden, 1)])
            net.seq([conv(out_channels, 1, bias=False), bn])    # projection, no activation
    net.seq(conv_bn_relu(1280, 1) + [gap, fc(1000)])
    return net


def convnext_tiny():
    net = Net((3, 224, 224))
    net.seq([conv(96, 4, 4), bn])                    # patchify stem and LayerNorm
    for stage, (blocks, dim) in enumerate(zip((3, 3, 9, 3), (96, 192, 384, 768))):
        if stage:                                    # LayerNorm, 2x2 stride-2 downsampling
            net.seq([bn, conv(dim, 2, 2)])
        for _ in range(blocks):
            net.seq([conv(dim, 7, 1, 3, groups=dim), bn, conv(4 * dim, 1), relu,
                     conv(dim, 1)])
            net.params += dim                        # layer scale: one factor per channel
    net.seq([gap, bn, fc(1000)])
    return net


later = {"GoogLeNet": googlenet(branch3_kernel=3), "DenseNet-121": densenet121(),
         "EfficientNet-B0": efficientnet_b0(), "ConvNeXt-T": convnext_tiny()}
for name, net in later.items():
    print(f"{name:>15}: {net.params:>11,} parameters, {net.macs:>14,} multiply-adds")
print(f"GoogLeNet with 5x5 filters in the third branch, as in the paper: "
      f"{googlenet(branch3_kernel=5).params:,} parameters")
assert [net.params for net in later.values()] == [6_624_904, 7_978_856, 5_288_548, 28_589_128]

# %% [markdown]
# (torchvision's GoogLeNet has 3x3 filters where the paper has 5x5 in the third branch of
# each Inception module, a long-standing quirk kept for its pretrained weights; its
# published count, 6,624,904, is the one with 3x3.)
#
# All nine side by side (multiply-adds for one 224x224 image, 227x227 for AlexNet and
# 32x32 for LeNet-5):

# %%
summary = {
    "LeNet-5 (1998)": lenet,
    "AlexNet (2012)": alex,
    "VGG-16 (2014)": vgg16,
    "GoogLeNet (2014)": {"params": later["GoogLeNet"].params, "macs": later["GoogLeNet"].macs},
    "ResNet-18 (2015)": resnet,
    "DenseNet-121 (2017)": {"params": later["DenseNet-121"].params,
                            "macs": later["DenseNet-121"].macs},
    "MobileNet (2017)": mobilenet,
    "EfficientNet-B0 (2019)": {"params": later["EfficientNet-B0"].params,
                               "macs": later["EfficientNet-B0"].macs},
    "ConvNeXt-T (2022)": {"params": later["ConvNeXt-T"].params, "macs": later["ConvNeXt-T"].macs},
}
print(f"{'network':>22} {'parameters':>14} {'multiply-adds':>16}")
for name, net in summary.items():
    print(f"{name:>22} {net['params']:>14,} {net['macs']:>16,}")

fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, key, label in zip(axes, ["params", "macs"], ["parameters", "multiply-adds per image"]):
    ax.barh(list(summary), [net[key] for net in summary.values()], color="tab:purple")
    ax.set_xscale("log")
    ax.set_xlabel(f"{label} (log scale)")
axes[0].invert_yaxis()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 8. Feature maps of a trained network
#
# Finally, what do learned filters look like? We train a very small network on the
# MNIST sample that ships with the course (`data_sample/`, 1,000 training and 500 test
# digits): 8 filters of 5x5 with padding 2, a ReLU, 2x2 max pooling and one fully
# connected layer to the 10 classes, He-initialized and trained with SGD and momentum:
# the "course" network of section 2, written out with the layer functions. The fast
# layers make a few epochs take seconds.

# %%
data = get_MNIST_data(num_training=900, num_validation=100, num_test=500,
                      data_dir=SAMPLE_DATA_DIR)
X_train, y_train = data["X_train"] / 255, data["y_train"]
X_test, y_test = data["X_test"] / 255, data["y_test"]
print({name: array.shape for name, array in data.items()})

conv_param = {"stride": 1, "pad": 2}
pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
num_filters = 8
init = np.random.default_rng(1)
params = {
    "w1": (init.standard_normal((num_filters, 1, 5, 5)) * np.sqrt(2 / 25)).astype(np.float32),
    "b1": np.zeros(num_filters, np.float32),
    "w2": (init.standard_normal((num_filters * 14 * 14, 10))
           * np.sqrt(2 / (num_filters * 196))).astype(np.float32),
    "b2": np.zeros(10, np.float32),
}
initial_filters = params["w1"].copy()


def forward(X, params):
    """Scores (N, 10) and the caches of conv - relu - pool - affine."""
    a, conv_cache = conv_forward_fast(X, params["w1"], params["b1"], conv_param)
    r, relu_cache = relu_forward(a)
    p, pool_cache = max_pool_forward_fast(r, pool_param)
    scores, fc_cache = affine_forward(p, params["w2"], params["b2"])
    return scores, (conv_cache, relu_cache, pool_cache, fc_cache)


def gradients(X, y, params):
    scores, (conv_cache, relu_cache, pool_cache, fc_cache) = forward(X, params)
    loss, dscores = softmax_loss(scores, y)
    dp, dw2, db2 = affine_backward(dscores, fc_cache)
    da = relu_backward(max_pool_backward_fast(dp, pool_cache), relu_cache)
    _, dw1, db1 = conv_backward_fast(da, conv_cache)
    return loss, {"w1": dw1, "b1": db1, "w2": dw2, "b2": db2}


def accuracy(X, y, params):
    return (forward(X, params)[0].argmax(axis=1) == y).mean()

# %%
# NBVAL_IGNORE_OUTPUT
# (run times, and losses that may differ in the last digits between machines)
learning_rate, momentum, batch_size = 0.05, 0.9, 50
velocity = {name: np.zeros_like(value) for name, value in params.items()}
order_rng = np.random.default_rng(2)
start = time.perf_counter()
for epoch in range(4):
    order = order_rng.permutation(len(X_train))
    for first in range(0, len(X_train), batch_size):
        batch = order[first:first + batch_size]
        loss, grads = gradients(X_train[batch], y_train[batch], params)
        for name in params:   # SGD with momentum
            velocity[name] = momentum * velocity[name] - learning_rate * grads[name]
            params[name] += velocity[name]
    print(f"epoch {epoch + 1}: last batch loss {loss:.3f}, train accuracy "
          f"{accuracy(X_train, y_train, params):.3f}, test accuracy "
          f"{accuracy(X_test, y_test, params):.3f} ({time.perf_counter() - start:.1f} s)")
test_accuracy = accuracy(X_test, y_test, params)
assert test_accuracy > 0.8, test_accuracy

# %% [markdown]
# The filters before and after training, and what they make of three test digits (the
# feature maps after the ReLU; the digits are shown with the mean image subtracted, as
# the network sees them). At 5x5 pixels and after a few seconds of training the filters
# themselves are hard to read, but their feature maps show what they became: detectors
# of strokes of one orientation, or of one side of a stroke, each map lighting up where
# its pattern occurs in the digit.

# %%
fig, axes = plt.subplots(2, num_filters, figsize=(12, 3.4))
for f in range(num_filters):
    for row, filters in enumerate([initial_filters, params["w1"]]):
        axes[row, f].imshow(filters[f, 0], cmap="gray")
        axes[row, f].axis("off")
    axes[0, f].set_title(f"filter {f}")
fig.suptitle("5x5 filters: random initialisation (top) and after training (bottom)")
plt.tight_layout()
plt.show()

examples = [int(np.flatnonzero(y_test == digit)[0]) for digit in (0, 4, 7)]
maps = np.maximum(conv_forward_fast(X_test[examples], params["w1"], params["b1"],
                                    conv_param)[0], 0)
fig, axes = plt.subplots(len(examples), num_filters + 1, figsize=(13, 4.8))
for row, index in enumerate(examples):
    axes[row, 0].imshow(X_test[index, 0], cmap="gray")
    axes[row, 0].set_title(f"digit {y_test[index]}")
    for f in range(num_filters):
        axes[row, f + 1].imshow(maps[row, f], cmap="magma")
        if row == 0:
            axes[row, f + 1].set_title(f"map {f}")
for ax in axes.ravel():
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Summary
#
# | network | idea | parameters |
# |---|---|---|
# | LeNet-5 | convolution + subsampling, learned end to end | 60 thousand |
# | AlexNet | scale, ReLU, dropout, GPUs | 61 million, mostly fully connected |
# | VGG-16 | only 3x3 convolutions, deep | 138 million, mostly fully connected |
# | GoogLeNet | Inception modules: parallel 1x1, 3x3, 5x5 and pooling branches | 6.6 million |
# | ResNet-18 | residual blocks, global average pooling | 11.7 million |
# | DenseNet-121 | every layer sees all earlier feature maps (concatenation) | 8.0 million |
# | MobileNet | depthwise separable convolutions | 4.2 million |
# | EfficientNet-B0 | inverted residuals with squeeze-and-excitation; compound scaling | 5.3 million |
# | ConvNeXt-T | a convnet with transformer-era choices (7x7 depthwise, LayerNorm, GELU) | 28.6 million |
#
# * He initialization, standard deviation `sqrt(2 / fan_in)`, keeps the signal's size
#   through ReLU layers; a fixed 0.01 shrinks it at every layer, and even a two-layer
#   network then sits on a plateau at the loss of a uniform guess.
#
# * Three stacked 3x3 convolutions see the same 7x7 patch as one 7x7 convolution with
#   27 instead of 49 weights per channel pair, and three non-linearities instead of one.
# * A 1x1 convolution is a per-pixel fully connected layer over the channels: it mixes
#   and resizes the channel dimension.

# %% [markdown]
# ## 9. Further reading
#
# The papers behind this notebook, in the order it uses them, and three overviews:
#
# * Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, *Gradient-based learning applied to
#   document recognition*, Proceedings of the IEEE, 1998 (LeNet-5).
# * K. He, X. Zhang, S. Ren, J. Sun, *Delving deep into rectifiers*, ICCV 2015,
#   arXiv:1502.01852 (He initialization).
# * A. Krizhevsky, I. Sutskever, G. Hinton, *ImageNet classification with deep
#   convolutional neural networks*, NeurIPS 2012 (AlexNet).
# * K. Simonyan, A. Zisserman, *Very deep convolutional networks for large-scale image
#   recognition*, ICLR 2015, arXiv:1409.1556 (VGG).
# * K. He, X. Zhang, S. Ren, J. Sun, *Deep residual learning for image recognition*,
#   CVPR 2016, arXiv:1512.03385 (ResNet).
# * S. Ioffe, C. Szegedy, *Batch normalization*, ICML 2015, arXiv:1502.03167.
# * A. Howard et al., *MobileNets*, 2017, arXiv:1704.04861.
# * C. Szegedy et al., *Going deeper with convolutions*, CVPR 2015, arXiv:1409.4842
#   (GoogLeNet).
# * G. Huang, Z. Liu, L. van der Maaten, K. Weinberger, *Densely connected convolutional
#   networks*, CVPR 2017, arXiv:1608.06993 (DenseNet).
# * M. Tan, Q. Le, *EfficientNet: rethinking model scaling for convolutional neural
#   networks*, ICML 2019, arXiv:1905.11946.
# * Z. Liu et al., *A ConvNet for the 2020s*, CVPR 2022, arXiv:2201.03545 (ConvNeXt).
# * V. Dumoulin, F. Visin, *A guide to convolution arithmetic for deep learning*, 2016,
#   arXiv:1603.07285: output sizes, padding, strides and transposed convolutions, with
#   pictures (notebook 1).
# * I. Goodfellow, Y. Bengio, A. Courville, *Deep Learning*, MIT Press, 2016, chapter 9
#   (convolutional networks) and chapter 8 (optimization and initialization).
# * A. Zhang, Z. Lipton, M. Li, A. Smola, *Dive into Deep Learning*, chapters 7 and 8
#   (convolutions, and modern convolutional networks), with runnable code.
