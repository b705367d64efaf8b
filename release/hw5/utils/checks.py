"""The checks the assignment's test cells use, with failure messages that say what is wrong.

Each check raises AssertionError naming the case (for example ``"stride 2, pad 1"``) and
the quantity (``"dx"``) and explaining the problem: the wrong shape (expected and got),
a missing or non-numeric result, or the largest error, where it is, and how many entries
are off. They never print the expected values themselves. ``running`` does the same for
an exception raised inside the code being checked: it names the case that was running.

``require_local_packages`` makes sure the code being checked is the copy of nndl and utils
in the assignment folder. During ``nbgrader autograde`` every check calls it first, so no
test can pass on a different copy of nndl (for example the instructor's, if it is on the
kernel's sys.path).
"""
import importlib
import os
from numbers import Integral
from pathlib import Path

import numpy as np

LOCAL_PACKAGES = ('nndl', 'utils')


def require_local_packages(folder=None, packages=LOCAL_PACKAGES):
    """Raise ImportError unless each package in ``packages`` is imported from ``folder``.

    ``folder`` defaults to the current directory, which is the notebook's folder in
    Jupyter and under nbgrader. Returns the dict package name -> folder it came from.
    """
    folder = Path(folder or os.getcwd()).resolve()
    origins = {}
    for name in packages:
        module = importlib.import_module(name)
        origin = Path(module.__file__).parent.resolve()
        origins[name] = origin
        if origin.parent != folder:
            raise ImportError(
                f"'{name}' is imported from {origin}, not from this assignment's folder "
                f"{folder}: the code being run is not your copy. Start the notebook from its "
                f"own folder, and remove other copies of '{name}' from PYTHONPATH.")
    return origins


def _autograde_guard():
    if os.environ.get('NBGRADER_EXECUTION') == 'autograde':
        require_local_packages()


def check_shape(case, name, got, expected_shape):
    """Raise AssertionError unless ``got`` is an array of shape ``expected_shape``."""
    _autograde_guard()
    got = _as_array(case, name, got)
    expected_shape = tuple(expected_shape)
    if got.shape != expected_shape:
        raise AssertionError(f"[{case}] {name} has shape {got.shape}, expected {expected_shape}")
    return got


def check_close(case, name, got, expected, rtol=1e-6, atol=1e-8):
    """Raise AssertionError unless ``got`` matches ``expected`` entry by entry.

    An entry is right if |got - expected| <= atol + rtol * |expected|. The message of a
    failure gives the shapes if they differ, otherwise the largest error |got - expected|,
    the index where it occurs and how many entries are off.
    """
    _autograde_guard()
    expected = np.asarray(expected, dtype=np.float64)
    got = check_shape(case, name, got, expected.shape).astype(np.float64)
    if got.size == 0:
        return
    not_finite = ~np.isfinite(got)
    if not_finite.any():
        where = tuple(int(i) for i in np.argwhere(not_finite)[0])
        raise AssertionError(f"[{case}] {name} holds {int(not_finite.sum())} NaN or infinite "
                             f"values; the first at index {where}")
    error = np.abs(got - expected)
    wrong = error > atol + rtol * np.abs(expected)
    if wrong.any():
        worst = np.unravel_index(np.argmax(np.where(wrong, error, -1.0)), error.shape)
        where = tuple(int(i) for i in worst) if error.ndim else ()
        raise AssertionError(
            f"[{case}] {name} is wrong: {int(wrong.sum())} of {error.size} entries are off; "
            f"the largest error |got - expected| = {error[worst]:.3g} is at index {where} "
            f"(tolerance {atol:g} + {rtol:g} * |expected|)")


def check_equal(case, name, got, expected):
    """Raise AssertionError unless ``got == expected`` (ints or tuples of ints).

    The message shows what was returned, not the expected value.
    """
    _autograde_guard()
    if isinstance(expected, tuple):
        ok = (isinstance(got, (tuple, list)) and len(got) == len(expected)
              and all(_is_int(g) and g == e for g, e in zip(got, expected)))
        kind = f"a tuple of {len(expected)} ints"
    else:
        ok = _is_int(got) and got == expected
        kind = "an int"
    if not ok:
        raise AssertionError(f"[{case}] {name} returned {got!r}, which is not the right "
                             f"value (it should be {kind})")


def check_true(case, condition, message):
    """Raise AssertionError with ``message`` unless ``condition`` holds."""
    _autograde_guard()
    if not condition:
        raise AssertionError(f"[{case}] {message}")


class running:
    """Context manager: an exception raised inside it names ``case`` and ``function``.

        with running('stride 2, pad 1', 'conv_forward_naive'):
            out, _ = conv_forward_naive(x, w, b, conv_param)

    An exception other than AssertionError becomes an AssertionError whose message says
    which function raised what during which case (for example ``[x (2, 3, 6, 5), w
    (3, 3, 3, 3), stride 1, pad 1] conv_forward_naive raised TypeError: slice indices
    must be integers ...``); the original exception stays attached as its cause, so the
    traceback still shows the line of your code that raised it.
    """

    def __init__(self, case, function):
        self.case, self.function = case, function

    def __enter__(self):
        _autograde_guard()
        return self

    def __exit__(self, kind, error, traceback):
        if not isinstance(error, Exception) or isinstance(error, AssertionError):
            return False   # no error, a failed check, or an interrupt: unchanged
        raise AssertionError(f"[{self.case}] {self.function} raised {kind.__name__}: "
                             f"{error}") from error


def _is_int(value):
    return isinstance(value, Integral) and not isinstance(value, bool)


def _as_array(case, name, value):
    if value is None:
        raise AssertionError(f"[{case}] {name} is None: the function did not compute it "
                             f"(is it still the None it started as?)")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise AssertionError(f"[{case}] {name} is not a numeric array "
                             f"(got {type(value).__name__}: {err})") from err
    return array
