"""Tests of utils.gradient_check: the tools every other gradient test relies on."""
import re

import numpy as np
import pytest

from utils.gradient_check import (eval_numerical_gradient, eval_numerical_gradient_array,
                                  eval_numerical_gradient_blobs, eval_numerical_gradient_net,
                                  grad_check_sparse, rel_error)


# ---------------------------------------------------------------------------------------
# rel_error
# ---------------------------------------------------------------------------------------

def test_rel_error_of_identical_arrays_is_zero():
    x = np.random.default_rng(0).standard_normal((3, 4))
    assert rel_error(x, x.copy()) == 0.0


def test_rel_error_is_the_largest_entrywise_relative_difference():
    # |1 - 3| / (1 + 3) = 0.5 and |2 - 2| / 4 = 0: the maximum is 0.5.
    assert rel_error([1.0, 2.0], [3.0, 2.0]) == pytest.approx(0.5)
    # Opposite signs give the largest possible value, 1.
    assert rel_error([-1.0], [1.0]) == pytest.approx(1.0)


def test_rel_error_has_a_floor_of_1e_minus_8_in_the_denominator():
    # |0 - 1e-10| / max(1e-8, 1e-10) = 1e-2, not 1 (two tiny numbers are not "100% apart").
    assert rel_error([0.0], [1e-10]) == pytest.approx(1e-2)


def test_rel_error_refuses_arrays_of_different_shapes():
    with pytest.raises(ValueError, match=r"shapes differ, \(2, 3\) vs \(3, 2\)"):
        rel_error(np.zeros((2, 3)), np.zeros((3, 2)))


def test_rel_error_of_empty_arrays_is_zero():
    assert rel_error(np.zeros((0, 3)), np.zeros((0, 3))) == 0.0


# ---------------------------------------------------------------------------------------
# eval_numerical_gradient (scalar functions)
# ---------------------------------------------------------------------------------------

def test_numerical_gradient_of_sum_of_squares_is_twice_x():
    x = np.random.default_rng(1).standard_normal((3, 4))
    grad = eval_numerical_gradient(lambda v: np.sum(v ** 2), x, verbose=False)
    # The centered difference is exact for a quadratic (up to rounding).
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-8, atol=1e-8)


def test_numerical_gradient_is_a_centered_difference():
    # For f(x) = x^3 at x = 1: (f(1 + h) - f(1 - h)) / 2h = 3 + h^2 exactly, whereas a
    # one-sided difference would give 3 + 3h + h^2.
    h = 1e-3
    grad = eval_numerical_gradient(lambda v: float(v[0] ** 3), np.array([1.0]), verbose=False,
                                   h=h)
    assert grad[0] == pytest.approx(3 + h ** 2, abs=1e-9)


def test_numerical_gradient_of_a_smooth_function_matches_the_analytic_one():
    x = np.random.default_rng(2).standard_normal(5)
    grad = eval_numerical_gradient(lambda v: np.sum(np.sin(v)), x, verbose=False)
    assert rel_error(grad, np.cos(x)) < 1e-8


def test_numerical_gradient_restores_x():
    x = np.random.default_rng(3).standard_normal((2, 3))
    original = x.copy()
    eval_numerical_gradient(lambda v: np.sum(v ** 3), x, verbose=False)
    np.testing.assert_array_equal(x, original)


# ---------------------------------------------------------------------------------------
# eval_numerical_gradient_array (array-valued functions, as for a backward pass)
# ---------------------------------------------------------------------------------------

def test_numerical_gradient_array_of_a_linear_map_is_its_transpose_times_dout():
    rng = np.random.default_rng(4)
    matrix = rng.standard_normal((4, 3))
    x = rng.standard_normal(3)
    dout = rng.standard_normal(4)
    grad = eval_numerical_gradient_array(lambda v: matrix @ v, x, dout)
    np.testing.assert_allclose(grad, matrix.T @ dout, rtol=1e-7, atol=1e-9)


def test_numerical_gradient_array_of_elementwise_square():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3))
    dout = rng.standard_normal((2, 3))
    grad = eval_numerical_gradient_array(lambda v: v ** 2, x, dout)
    assert grad.shape == x.shape
    assert rel_error(grad, 2 * x * dout) < 1e-8


def test_numerical_gradient_array_restores_x():
    x = np.random.default_rng(6).standard_normal(4)
    original = x.copy()
    eval_numerical_gradient_array(lambda v: np.exp(v), x, np.ones(4))
    np.testing.assert_array_equal(x, original)


# ---------------------------------------------------------------------------------------
# grad_check_sparse
# ---------------------------------------------------------------------------------------

def _exp_and_gradient(shape, seed):
    """x, f(x) = sum(exp(x)) and its gradient exp(x) (bounded away from 0, so relative
    errors stay meaningful at every entry)."""
    x = np.random.default_rng(seed).standard_normal(shape)
    return x, (lambda v: np.sum(np.exp(v))), np.exp(x)


def test_grad_check_sparse_accepts_a_correct_gradient():
    x, f, grad = _exp_and_gradient((5, 6), seed=7)
    errors = grad_check_sparse(f, x, grad, num_checks=12, seed=0)
    assert len(errors) == 12
    assert max(errors) < 1e-7


def test_grad_check_sparse_flags_a_wrong_gradient():
    x, f, grad = _exp_and_gradient((5, 6), seed=8)
    errors = grad_check_sparse(f, x, 2 * grad, num_checks=5, seed=0)
    # analytic = 2 * numeric gives |a - n| / (|a| + |n|) = 1/3 at every entry.
    np.testing.assert_allclose(errors, 1 / 3, rtol=1e-6)


def test_grad_check_sparse_is_reproducible_and_restores_x():
    x, f, grad = _exp_and_gradient((4, 4), seed=9)
    original = x.copy()
    wrong = grad + np.arange(16.0).reshape(4, 4)   # a different error at every entry
    first = grad_check_sparse(f, x, wrong, num_checks=6, seed=3)
    second = grad_check_sparse(f, x, wrong, num_checks=6, seed=3)
    assert first == second
    np.testing.assert_array_equal(x, original)


def test_grad_check_sparse_prints_one_line_per_check_like_cs231n(capsys):
    x, f, grad = _exp_and_gradient((3, 3), seed=10)
    errors = grad_check_sparse(f, x, grad, num_checks=4, seed=1)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    for line, error in zip(lines, errors):
        numeric, analytic, relative = re.fullmatch(
            r"numerical: (-?\d+\.\d{6}) analytic: (-?\d+\.\d{6}), relative error: "
            r"(\d\.\d{6}e[-+]\d\d)", line).groups()
        assert float(numeric) == pytest.approx(float(analytic), abs=2e-6)
        assert float(relative) == pytest.approx(error, rel=1e-5)


# ---------------------------------------------------------------------------------------
# verbose: CS231n's signature eval_numerical_gradient(f, x, verbose=True, h=1e-5)
# ---------------------------------------------------------------------------------------

def test_numerical_gradient_prints_index_and_value_of_every_entry_by_default(capsys):
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    grad = eval_numerical_gradient(lambda v: np.sum(v ** 2), x)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(') ')[0] + ')' for line in lines] == ['(0, 0)', '(0, 1)', '(1, 0)',
                                                             '(1, 1)']
    np.testing.assert_allclose([float(line.split(') ')[1]) for line in lines], grad.ravel())
    eval_numerical_gradient(lambda v: np.sum(v ** 2), x, False)
    assert capsys.readouterr().out == ''


def test_numerical_gradient_takes_verbose_then_h_positionally():
    # CS231n's cells pass eval_numerical_gradient(f, x, False, 1e-6) or verbose=False, h=...
    x = np.array([1.0])
    grad = eval_numerical_gradient(lambda v: float(v[0] ** 3), x, False, 1e-3)
    assert grad[0] == pytest.approx(3 + 1e-6, abs=1e-9)


def test_numerical_gradient_refuses_a_step_passed_as_verbose():
    with pytest.raises(TypeError, match=r"pass the step as h=1e-06"):
        eval_numerical_gradient(lambda v: np.sum(v), np.ones(2), 1e-6)


# ---------------------------------------------------------------------------------------
# Blobs and nets (CS231n's eval_numerical_gradient_blobs / _net)
# ---------------------------------------------------------------------------------------

class Blob:
    def __init__(self, vals, diffs=None):
        self.vals = vals
        self.diffs = np.zeros_like(vals) if diffs is None else diffs


class ScaleNet:
    """out.vals = a.vals * b.vals (elementwise), computed by forward()."""

    def __init__(self, a, b, out):
        self.a, self.b, self.out = a, b, out

    def forward(self):
        self.out.vals = self.a.vals * self.b.vals


def test_numerical_gradient_blobs_of_a_product():
    rng = np.random.default_rng(11)
    a, b = Blob(rng.standard_normal((2, 3))), Blob(rng.standard_normal((2, 3)))
    out = Blob(np.zeros((2, 3)), rng.standard_normal((2, 3)))

    def product(first, second):
        out.vals = first.vals * second.vals

    da, db = eval_numerical_gradient_blobs(product, [a, b], out)
    assert rel_error(da, b.vals * out.diffs) < 1e-8
    assert rel_error(db, a.vals * out.diffs) < 1e-8


def test_numerical_gradient_net_runs_forward_without_arguments():
    rng = np.random.default_rng(12)
    a, b = Blob(rng.standard_normal(4)), Blob(rng.standard_normal(4))
    out = Blob(np.zeros(4), rng.standard_normal(4))
    original = a.vals.copy()
    da, db = eval_numerical_gradient_net(ScaleNet(a, b, out), [a, b], out)
    assert rel_error(da, b.vals * out.diffs) < 1e-8
    assert rel_error(db, a.vals * out.diffs) < 1e-8
    np.testing.assert_array_equal(a.vals, original)
