# Source of notebooks/05_softmax.ipynb (build: python notebooks/build_notebooks.py)

# %% [markdown]
# # 5. Softmax, log-softmax and cross-entropy
#
# A classifier's last layer produces one *score* per class. Softmax turns the scores of
# one example into probabilities,
#
# $$p_c = \frac{e^{s_c}}{\sum_j e^{s_j}},$$
#
# and the cross-entropy loss is the negative log-probability of the correct class,
# $L = -\log p_y$. Both are one line of NumPy each, and both lines break on perfectly
# ordinary inputs. This notebook shows how, how to fix it, and derives the gradient.

# %%
# %matplotlib inline
import warnings

import matplotlib.pyplot as plt
import numpy as np

from nndl.layers import log_softmax, softmax_loss
from utils.gradient_check import eval_numerical_gradient, rel_error

np.set_printoptions(precision=4, suppress=True, linewidth=100)

# %% [markdown]
# ## 1. The direct formula, and where it breaks

# %%
def softmax_direct(scores):
    """Softmax over the last axis, exactly as the formula reads (unsafe)."""
    exps = np.exp(scores)
    return exps / exps.sum(axis=-1, keepdims=True)


def run_and_report(function, *args):
    """Call function(*args); print the result and any floating-point warning it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = function(*args)
    for warning in caught:
        print(f"  {warning.category.__name__}: {warning.message}")
    print("  result:", result)
    return result


print("scores [1, 2, 3]:")
small = run_and_report(softmax_direct, np.array([1.0, 2.0, 3.0]))
print("scores [1000, 1001, 1002]:")
large = run_and_report(softmax_direct, np.array([1000.0, 1001.0, 1002.0]))
assert np.isclose(small.sum(), 1) and np.all(np.isnan(large))

# %% [markdown]
# `exp(1000)` does not fit in a float: it becomes `inf`, and `inf / inf` is `nan`. The
# limit is `log` of the largest float, about 709.8 in float64 and only 88.7 in float32,
# the precision networks are usually trained in. Scores of a hundred are not unusual for
# an untrained or badly scaled network.

# %%
for dtype in (np.float64, np.float32):
    limit = np.log(np.finfo(dtype).max)
    print(f"{np.dtype(dtype).name}: exp overflows above {limit:.1f}")
print("float32 scores [90, 91]:")
_ = run_and_report(softmax_direct, np.array([90.0, 91.0], dtype=np.float32))

# %% [markdown]
# ## 2. The fix: shift by the maximum
#
# Multiplying numerator and denominator by the same `e^{-m}` changes nothing:
#
# $$\frac{e^{s_c}}{\sum_j e^{s_j}} = \frac{e^{s_c - m}}{\sum_j e^{s_j - m}} .$$
#
# With `m = max_j s_j`, every exponent is `<= 0`, so nothing overflows, and the largest
# term is `e^0 = 1`, so the denominator is at least 1 and never rounds to zero.

# %%
def softmax_stable(scores):
    """Softmax over the last axis, shifted by the maximum of each row."""
    shifted = scores - scores.max(axis=-1, keepdims=True)
    exps = np.exp(shifted)
    return exps / exps.sum(axis=-1, keepdims=True)


print("scores [1000, 1001, 1002]:")
stable = run_and_report(softmax_stable, np.array([1000.0, 1001.0, 1002.0]))
assert np.allclose(stable, softmax_direct(np.array([0.0, 1.0, 2.0])))
assert np.allclose(softmax_stable(np.array([1.0, 2.0, 3.0])), small)

# %% [markdown]
# ## 3. The logarithm: log-softmax and log-sum-exp
#
# The loss needs `log p_y`. Taking the log *of* a stable softmax still fails when a
# probability underflows to 0: with scores `[0, -800]` the second probability is
# `e^{-800}`, about `10^{-348}`, below the smallest float64, and `log(0) = -inf`.
# Instead take the log of the formula first:
#
# $$\log p_c = s_c - \log \sum_j e^{s_j} = (s_c - m) - \log \sum_j e^{s_j - m} .$$
#
# The second term is the *log-sum-exp* of the scores, computed stably by the same shift.
# Nothing is exponentiated and then logged again, so `log p` is exact even where `p`
# itself is too small to represent.

# %%
def log_softmax_naive(scores):
    return np.log(softmax_stable(scores))


scores = np.array([[0.0, -800.0]])
print("log(softmax_stable):")
_ = run_and_report(log_softmax_naive, scores)
print("log-sum-exp form (nndl.layers.log_softmax):")
logp = run_and_report(log_softmax, scores)
assert np.allclose(logp, [[0.0, -800.0]])

# %% [markdown]
# On ordinary scores all the versions agree:

# %%
rng = np.random.default_rng(0)
scores = rng.standard_normal((5, 10))
assert np.allclose(log_softmax(scores), np.log(softmax_direct(scores)))
assert np.allclose(np.exp(log_softmax(scores)).sum(axis=1), 1)
print("log_softmax == log(softmax) on ordinary scores; probabilities sum to 1")

# %% [markdown]
# ## 4. Cross-entropy
#
# For an example with label `y`, the loss is `L = -log p_y`: 0 when the network is
# certain and right, growing without bound as `p_y -> 0`. It is the cross-entropy
# `-sum_c q_c log p_c` between the one-hot distribution `q` of the label and the
# prediction `p`. Over a batch we take the mean.
#
# A useful sanity check: a freshly initialised network has small, nearly equal scores, so
# `p_c ~ 1/C` and the loss should start near `log C` (2.303 for ten classes).

# %%
num_examples, num_classes = 50, 10
labels = rng.integers(num_classes, size=num_examples)
loss_at_init, _ = softmax_loss(0.001 * rng.standard_normal((num_examples, num_classes)), labels)
print(f"loss with tiny random scores: {loss_at_init:.3f}; log(10) = {np.log(10):.3f}")
assert abs(loss_at_init - np.log(num_classes)) < 0.01

# The same loss written as a cross-entropy with one-hot labels:
scores = rng.standard_normal((num_examples, num_classes))
one_hot = np.eye(num_classes)[labels]
cross_entropy = -(one_hot * log_softmax(scores)).sum(axis=1).mean()
assert np.isclose(cross_entropy, softmax_loss(scores, labels)[0])

# %% [markdown]
# ## 5. The gradient
#
# First the softmax itself. For one example,
#
# $$\frac{\partial p_i}{\partial s_j} = p_i(\delta_{ij} - p_j),$$
#
# a Jacobian `J = diag(p) - p p^T`. Then, with `L = -log p_y`, the chain rule gives
#
# $$\frac{\partial L}{\partial s_j} = -\frac{1}{p_y}\, p_y(\delta_{yj} - p_j) = p_j - \delta_{yj} :$$
#
# the predicted probabilities minus the one-hot label. The `1/p_y` cancels, which is why
# the gradient is well behaved even when `p_y` is tiny. For the mean over `N` examples
# each row is divided by `N`. First the Jacobian, against centered differences:

# %%
s = np.array([1.0, -0.5, 2.0, 0.3])
p = softmax_stable(s)
jacobian = np.diag(p) - np.outer(p, p)
jacobian_num = np.stack([eval_numerical_gradient(lambda v: softmax_stable(v)[i], s.copy(),
                                                  verbose=False)
                         for i in range(len(s))])
assert rel_error(jacobian, jacobian_num) < 1e-7
y = 2
grad_chain = -(1 / p[y]) * jacobian[y]      # dL/ds = dL/dp_y * dp_y/ds
assert np.allclose(grad_chain, p - np.eye(len(s))[y])
print("p        =", p)
print("p - onehot =", p - np.eye(len(s))[y])

# %% [markdown]
# The route through `log_softmax` is shorter still, and it is the one the code takes.
# Since $\log p_i = s_i - \log \sum_k e^{s_k}$, and the derivative of the log-sum-exp
# with respect to $s_j$ is $e^{s_j} / \sum_k e^{s_k} = p_j$,
#
# $$\frac{\partial \log p_i}{\partial s_j} = \delta_{ij} - p_j ,$$
#
# a Jacobian `J_log = I - 1 p^T`: every row is the same vector `p`, subtracted from a row
# of the identity. Its row `y` is `e_y - p`, so the loss `L = -log p_y` has gradient
# `p - e_y` with no division anywhere. (It is also the softmax Jacobian with row `i`
# divided by `p_i`, as the chain rule for the logarithm says.) Each row of `J_log` sums
# to zero: adding the same constant to every score changes no probability.

# %%
jacobian_log = np.eye(len(s)) - np.outer(np.ones(len(s)), p)
jacobian_log_num = np.stack([eval_numerical_gradient(lambda v: log_softmax(v[None])[0, i],
                                                     s.copy(), verbose=False)
                             for i in range(len(s))])
assert rel_error(jacobian_log, jacobian_log_num) < 1e-7
assert np.allclose(jacobian_log, jacobian / p[:, None])     # d log p_i = d p_i / p_i
assert np.allclose(jacobian_log.sum(axis=1), 0)
assert np.allclose(-jacobian_log[y], p - np.eye(len(s))[y])  # dL/ds for L = -log p_y
print("d log p / d s =\n", np.round(jacobian_log, 3))

# %% [markdown]
# Now the batch loss of the course, `nndl.layers.softmax_loss`, against the numeric
# gradient of its loss:

# %%
scores = rng.standard_normal((6, 5))
labels = rng.integers(5, size=6)
loss, dscores = softmax_loss(scores, labels)
dscores_num = eval_numerical_gradient(lambda v: softmax_loss(v, labels)[0], scores.copy(),
                                      verbose=False)
expected = (softmax_stable(scores) - np.eye(5)[labels]) / len(labels)
assert np.allclose(dscores, expected)
assert rel_error(dscores, dscores_num) < 1e-7
assert np.allclose(dscores.sum(axis=1), 0)   # each row: probabilities (sum 1) minus one-hot
print("softmax_loss: analytic gradient == (p - onehot) / N == numeric gradient")

# %% [markdown]
# Because the loss and its gradient are computed from `log_softmax`, extreme scores are
# no problem: a wrong and confident prediction costs what it should (here 1000), and the
# gradient is the exact `p - onehot`.

# %%
loss, dscores = softmax_loss(np.array([[1000.0, 0.0, -1000.0]]), np.array([1]))
print("loss:", loss)
print("dscores:", dscores)
assert loss == 1000.0 and np.allclose(dscores, [[1, -1, 0]])

# %% [markdown]
# ## 6. A picture: scale and confidence
#
# Softmax depends only on differences of scores, and their *size* sets the confidence.
# Scaling the scores `[2, 1, 0.1]` by a factor `t` (the inverse of a "temperature"): at
# `t = 0` all classes are equally likely; as `t` grows, the largest score takes all the
# probability. On the right, the loss `-log p_y` as the correct class's score rises
# above the others: it goes to 0 slowly, and grows linearly when the score is too low.

# %%
base = np.array([2.0, 1.0, 0.1])
factors = np.linspace(0, 5, 101)
probs = softmax_stable(factors[:, None] * base)
margins = np.linspace(-6, 6, 121)
losses = [-log_softmax(np.array([[m, 0.0, 0.0]]))[0, 0] for m in margins]

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
for c in range(3):
    left.plot(factors, probs[:, c], label=f"class {c} (score {base[c]:g} t)")
left.set_xlabel("scale t")
left.set_ylabel("probability")
left.legend()
right.plot(margins, losses)
right.set_xlabel("score of the correct class (the two others are 0)")
right.set_ylabel("cross-entropy loss")
plt.tight_layout()
plt.show()
assert np.allclose(probs[0], 1 / 3) and probs[-1, 0] > 0.99

# %% [markdown]
# ## Summary
#
# * Subtract the row maximum before `exp`: softmax is unchanged and cannot overflow.
# * Compute `log p` as `s - logsumexp(s)`, never as `log(softmax(s))`.
# * The cross-entropy gradient with respect to the scores is `(p - onehot(y)) / N`; it
#   is a row of the log-softmax Jacobian `I - 1 p^T`, with its sign flipped.
