"""Keep numpy's and Python's comparison machinery honest while a submission is graded.

Runs inside the grading kernel (see ``sandbox_entry.py``). Before any cell runs it
records, for every public callable of the modules in ``GUARDED_MODULES``, the object
itself and, for functions written in Python, their code and defaults. After each cell
it compares: anything the cell replaced (``np.allclose = lambda *a, **k: True``), or
rewrote in place (``f.__code__ = ...``), is put back, a Python trace/profile hook the
cell installed is removed, and one line starting with ``MARKER`` is written to the
kernel's original stderr naming what was tampered with. ``grading.faults`` turns that
line into an error in the cell's output, so a test cell during which numpy was
tampered with scores nothing, and the student's feedback says why.

This is a guard, not a wall: student code runs in the same process and could, with
enough effort, defeat it. The sandbox around the process is what protects the
instructor's files and the other students.
"""

import builtins
import importlib
import math
import operator
import sys
import warnings

MARKER = "NNDL-SANDBOX-TAMPERING:"

GUARDED_MODULES = [
    "builtins", "math", "operator",
    "numpy", "numpy.linalg", "numpy.testing", "numpy.testing._private.utils",
    "numpy._core.numeric", "numpy._core.fromnumeric", "numpy._core._methods",
    "numpy.core.numeric", "numpy.core.fromnumeric", "numpy.core._methods",
]

_FUNCTION_STATE = ("__code__", "__defaults__", "__kwdefaults__")

# ipykernel itself swaps these for every execute request (stdin forwarding).
KERNEL_MANAGED = {("builtins", "input"), ("builtins", "raw_input")}


def _function_of(obj):
    """The Python function behind ``obj`` (numpy wraps many in a C dispatcher), or None."""
    for candidate in (obj, getattr(obj, "_implementation", None), getattr(obj, "__wrapped__", None)):
        if type(candidate).__name__ == "function":
            return candidate
    return None


class Snapshot:
    """Pristine attributes of the guarded modules, and the means to restore them."""

    def __init__(self, module_names=GUARDED_MODULES):
        self.modules = {}
        self.attributes = {}
        self.function_state = {}
        for name in module_names:  # recorded one by one: numpy before any course module
            try:
                with warnings.catch_warnings():  # numpy 2 warns about numpy.core
                    warnings.simplefilter("ignore")
                    module = self.modules[name] = importlib.import_module(name)
            except Exception:  # a numpy version without this private module
                continue
            for attr, value in list(vars(module).items()):
                if attr.startswith("__") or not callable(value) or (name, attr) in KERNEL_MANAGED:
                    continue
                self.attributes[(name, attr)] = value
                function = _function_of(value)
                if function is not None:
                    self.function_state[id(function)] = (
                        function, tuple(getattr(function, s) for s in _FUNCTION_STATE))
        self.stderr = sys.stderr  # the kernel's stream to the cell's output

    def restore(self):
        """Undo every change since the snapshot; return the names that were changed."""
        changed = []
        for (name, attr), value in self.attributes.items():
            module = self.modules[name]
            if vars(module).get(attr, None) is not value:
                setattr(module, attr, value)
                changed.append(f"{name}.{attr}")
        for function, state in self.function_state.values():
            now = tuple(getattr(function, s) for s in _FUNCTION_STATE)
            if any(a is not b for a, b in zip(now, state)):
                for slot, value in zip(_FUNCTION_STATE, state):
                    setattr(function, slot, value)
                changed.append(f"{function.__module__}.{function.__qualname__} (code)")
        if sys.gettrace() is not None:
            sys.settrace(None)
            changed.append("sys.settrace hook")
        if sys.getprofile() is not None:
            sys.setprofile(None)
            changed.append("sys.setprofile hook")
        return sorted(set(changed))

    def report(self, changed):
        """Write the tampering line that ``grading.faults`` looks for."""
        self.stderr.write(f"{MARKER} the submitted code replaced {', '.join(changed)}; "
                          "the originals were restored\n")
        self.stderr.flush()


def install(shell, extra_modules=()):
    """Check before and after every cell run by the IPython ``shell``.

    ``extra_modules`` (e.g. the course's ``utils.checks``, which the test cells use) are
    imported and guarded too; the current folder is first on ``sys.path`` by then.

    The snapshot is taken when the first cell is about to run, before any of its code:
    IPython adds names such as ``exit`` and ``display`` to builtins while a cell runs,
    and the snapshot must see the same builtins as the later checks.
    """
    snapshots = []

    def check(*_args):
        if not snapshots:
            snapshots.append(Snapshot(GUARDED_MODULES + list(extra_modules)))
            return
        changed = snapshots[0].restore()
        if changed:
            snapshots[0].report(changed)

    shell.events.register("pre_run_cell", check)
    shell.events.register("post_run_cell", check)


# Keep the references used above alive even if a cell deletes these module globals.
_KEEP = (builtins, math, operator)
