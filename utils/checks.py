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

During ``nbgrader autograde`` the checks do not decide the grade: the grader compares
what they report with expected values it computed itself, outside the student's kernel
(``grading/sandbox/judge.py``, docs/sandbox.md). ``record_checks`` switches that reporting on;
``sealed_reference`` stands in for a hidden test's reference, whose value the kernel never
holds.
"""
import base64
import contextlib
import functools
import importlib
import inspect
import io
import json
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
        if getattr(module, '__file__', None) is None:   # a folder without __init__.py
            places = ", ".join(str(p) for p in getattr(module, '__path__', []))
            raise ImportError(
                f"'{name}' has no __init__.py (found only the folder {places}): copy the "
                f"whole {name}/ folder of the assignment, __init__.py included, next to this "
                f"notebook.")
        origin = Path(module.__file__).parent.resolve()
        origins[name] = origin
        if origin.parent != folder:
            raise ImportError(
                f"'{name}' is imported from {origin}, not from this assignment's folder "
                f"{folder}: the code being run is not your copy. Start the notebook from its "
                f"own folder, and remove other copies of '{name}' from PYTHONPATH.")
    return origins


def _autograde_guard():
    if os.environ.get('NBGRADER_EXECUTION') == 'autograde' and not _mode['judge']:
        require_local_packages()


# --- What the checks report to the grader -------------------------------------------------
# Each check is one of four kinds; its call is reported as a record {'kind', 'case', 'name',
# ...}. In the student's kernel during autograde (record_checks(True)) a record holds what
# the student's code produced ('got'); in the grader's own run of the test cells with the
# instructor's solution (collect_checks) it holds what is expected. grading/sandbox/judge.py pairs
# them in order and decides.

RECORD_MIME = 'application/x-nndl-check+json'
_mode = {'record': False, 'collect': None, 'judge': False, 'depth': 0}


class Sealed:
    """A hidden test's expected value that only the grader holds (see sealed_reference)."""

    def __init__(self, label):
        self.label = label

    def __repr__(self):
        return f"<expected value of {self.label}, computed by the grader>"


def sealed_reference(name, structure=None):
    """A stand-in for the reference function ``name`` of a hidden test.

    It returns Sealed placeholders with the structure of the reference's result: one value,
    a tuple of ``structure`` values (an int), or, for ``structure='params'``, a dict with
    the keys of the ``params`` argument (the first one).
    """
    def reference(*args, **kwargs):
        if isinstance(structure, int):
            return tuple(Sealed(f"{name}[{i}]") for i in range(structure))
        if structure == 'params':
            params = kwargs.get('params', args[0] if args else {})
            return {key: Sealed(f"{name}[{key!r}]") for key in params}
        return Sealed(name)
    reference.__name__ = reference.__qualname__ = name
    return reference


def record_checks(on=True):
    """Report every check to the grader (autograde kernel) instead of only deciding here."""
    _mode['record'] = bool(on)


@contextlib.contextmanager
def collect_checks(records):
    """Append the expected value of every check to ``records`` while in this block."""
    _mode['collect'] = records
    try:
        yield records
    finally:
        _mode['collect'] = None


@contextlib.contextmanager
def judging():
    """The grader's own comparisons: the checks' plain behaviour, in the grader's process."""
    _mode['judge'] = True
    try:
        yield
    finally:
        _mode['judge'] = False


def plain_value(value):
    """``value`` as data only: an ndarray copy (not a subclass, not object dtype), a number,
    or nested tuples/lists of them. Anything else raises TypeError, since turning it into
    an array would run code of whoever made it."""
    if type(value) is np.ndarray:
        if value.dtype.hasobject:
            raise TypeError("an array of Python objects, not numbers")
        return value.copy()
    if type(value) in (bool, int, float) or (isinstance(value, np.generic)
                                             and type(value).__module__ == 'numpy'):
        return np.asarray(value)
    if type(value) in (tuple, list):
        return np.asarray([plain_value(item) for item in value])
    raise TypeError(f"a {type(value).__module__}.{type(value).__qualname__}, not a numpy "
                    f"array or a number")


def encode_array(array):
    """Base64 of the .npy bytes of ``array`` (read back with decode_array, never pickled)."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode('ascii')


def decode_array(text):
    return np.load(io.BytesIO(base64.b64decode(text)), allow_pickle=False)


def _record(kind, arguments):
    """The record of one check call in the kernel: what the student's code produced."""
    record = {'kind': kind, 'case': str(arguments['case'])}
    if kind == 'true':
        try:
            record['got'] = bool(plain_value(arguments['condition']))
        except TypeError as err:
            record['refused'] = f"the condition is {err}"
        return record
    record['name'] = str(arguments['name'])
    try:
        got = plain_value(arguments['got'])
    except TypeError as err:
        record['refused'] = f"{record['name']} is {err}"
        return record
    if kind == 'equal':
        record['got'] = repr(arguments['got']) if got.dtype.kind not in 'iub' else got.tolist()
    else:
        record['got'] = encode_array(got)
    return record


def _expectation(kind, arguments):
    """The record of one check call in the grader's run: what is expected."""
    record = {'kind': kind, 'case': str(arguments['case'])}
    if kind != 'true':
        record['name'] = str(arguments['name'])
    if kind == 'close':
        record.update(expected=np.asarray(arguments['expected'], dtype=np.float64),
                      rtol=arguments['rtol'], atol=arguments['atol'])
    elif kind == 'shape':
        record['expected'] = tuple(int(n) for n in arguments['expected'])
    elif kind == 'equal':
        expected = arguments['expected']
        record['expected'] = list(expected) if isinstance(expected, tuple) else expected
        record['tuple'] = isinstance(expected, tuple)
    return record


def _reported(kind):
    """Make a check report its call (record_checks / collect_checks), as explained above."""
    def decorate(check):
        signature = inspect.signature(check)

        @functools.wraps(check)
        def reported(*args, **kwargs):
            if _mode['depth']:   # a check inside a check (check_close uses check_shape)
                return check(*args, **kwargs)
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            if 'expected_shape' in arguments:
                arguments['expected'] = arguments['expected_shape']
            sealed = isinstance(arguments.get('expected'), Sealed)
            if _mode['record']:
                _publish(_record(kind, arguments))
                if sealed:   # the grader decides; the kernel has nothing to compare with
                    return np.asarray(arguments['got']) if kind == 'shape' else None
            _mode['depth'] += 1
            try:
                result = check(*args, **kwargs)
            finally:
                _mode['depth'] -= 1
            if _mode['collect'] is not None:
                _mode['collect'].append(_expectation(kind, arguments))
            return result
        return reported
    return decorate


def _publish(record):
    from IPython.display import publish_display_data
    publish_display_data({RECORD_MIME: json.loads(json.dumps(record))})


@_reported('shape')
def check_shape(case, name, got, expected_shape):
    """Raise AssertionError unless ``got`` is an array of shape ``expected_shape``."""
    _autograde_guard()
    got = _as_array(case, name, got)
    expected_shape = tuple(expected_shape)
    if got.shape != expected_shape:
        raise AssertionError(f"[{case}] {name} has shape {got.shape}, expected {expected_shape}")
    return got


@_reported('close')
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


@_reported('equal')
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


@_reported('true')
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
