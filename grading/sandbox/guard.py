"""Keep numpy's and Python's comparison machinery honest while a submission is graded.

Runs inside the grading kernel (see ``entry.py``). Before any cell runs it
records, for every public callable of the modules in ``GUARDED_MODULES``, the object
itself and, for functions written in Python, their code and defaults. After each cell
it compares: anything the cell replaced (``np.allclose = lambda *a, **k: True``), or
rewrote in place (``f.__code__ = ...``), is put back, a Python trace/profile hook the
cell installed is removed, and one line starting with ``MARKER`` is written to the
kernel's original stderr naming what was tampered with. ``grading.sandbox.faults`` turns that
line into an error in the cell's output, so a test cell during which numpy was
tampered with scores nothing, and the student's feedback says why.

It also enforces the rules of ``DELEGATION_RULES`` (``DelegationGuard``): while a
function of the student's ``nndl/conv_layers.py`` runs, no function of the provided
layers (``utils/fast_layers.py``, ``nndl/conv_layer_utils.py``) may start, however the
student's code reached it (imported, captured at import time, through importlib or
sys.modules). Such a call raises ``ProvidedLayerRefused`` in the student's code and
writes one line starting with ``INTEGRITY_MARKER``, which ``grading.sandbox.faults`` turns into
an error of the cell. The sandwich layers calling the student's layers, the model and
training are not affected: the rule looks at who is running, not at what is called.

This is a guard, not a wall: student code runs in the same process and could, with
enough effort, defeat it. The sandbox around the process is what protects the
instructor's files and the other students; the grades do not rest on it either, since
the grader decides every check outside the kernel (``grading/sandbox/judge.py``).
"""

import builtins
import importlib
import json
import math
import operator
import os
import sys
import threading
import warnings

MARKER = "NNDL-SANDBOX-TAMPERING:"
INTEGRITY_MARKER = "NNDL-SANDBOX-INTEGRITY:"
# The first line of a cell under test (grading.sandbox.judge puts it there): only during such cells
# is DELEGATION_RULES enforced, since the profile hook slows down every Python call.
UNDER_TEST = "# (under test: the provided layers are out of the student's layers' reach)"

# (student file, {provided file: its module}, the rule): while a function of the student
# file runs, no function of the provided files may start. Paths relative to the
# submission folder.
DELEGATION_RULES = [
    ("nndl/conv_layers.py",
     {"utils/fast_layers.py": "utils.fast_layers",
      "nndl/conv_layer_utils.py": "nndl.conv_layer_utils"},
     "the naive layers compute their result themselves"),
]
# The functions of nndl.conv_layers the tests call: recognized even if the module's
# attribute is a function compiled elsewhere (exec) and assigned to that name.
STUDENT_LAYER_NAMES = {
    "nndl/conv_layers.py": ("conv_forward_naive", "conv_backward_naive", "max_pool_forward_naive",
                            "max_pool_backward_naive", "avg_pool_forward_naive",
                            "avg_pool_backward_naive", "spatial_batchnorm_forward",
                            "spatial_batchnorm_backward", "conv_output_size", "conv_param_count"),
}


class ProvidedLayerRefused(RuntimeError):
    """A student's layer called a provided implementation it must not use."""


class DelegationGuard:
    """A profile hook (``sys.setprofile``) that enforces ``DELEGATION_RULES``.

    For each Python function that starts, the hook looks up (once per file name) whether
    its file is one of the provided files; only then does it walk the stack for a frame of
    the student file (by file, or by being the code of one of ``STUDENT_LAYER_NAMES``).
    In a thread other than the main one the main thread's stack counts too, so a thread
    started by the student's layer cannot do the work for it.
    """

    def __init__(self, folder, stream):
        self.stream = stream
        self.provided, self.student = {}, {}
        for student_file, provided, rule in DELEGATION_RULES:
            self.student[os.path.realpath(os.path.join(folder, student_file))] = (student_file, rule)
            for relative, module in provided.items():
                self.provided[os.path.realpath(os.path.join(folder, relative))] = module
        self.kinds = {}        # co_filename -> ('provided', module) | ('student', (file, rule)) | None
        self.reported = set()
        self.violations = 0
        self.main_thread = threading.main_thread().ident
        self.installed = self.hook   # one bound method, to recognize it in sys.getprofile()

    def kind(self, filename):
        if filename not in self.kinds:
            real = os.path.realpath(filename) if filename and not filename.startswith("<") else filename
            self.kinds[filename] = (("provided", self.provided[real]) if real in self.provided else
                                    ("student", self.student[real]) if real in self.student else None)
        return self.kinds[filename]

    def _student_codes(self):
        codes = {}
        for student_file, names in STUDENT_LAYER_NAMES.items():
            module = sys.modules.get(student_file[:-3].replace("/", "."))
            rule = next(r for f, _, r in DELEGATION_RULES if f == student_file)
            for name in names:
                code = getattr(getattr(module, name, None), "__code__", None)
                if code is not None:
                    codes[code] = (name, (student_file, rule))
        return codes

    def _culprit(self, frame, codes):
        """(function name, (file, rule)) of the outermost student layer frame above ``frame``."""
        found = None
        while frame is not None:
            code = frame.f_code
            if code in codes:
                found = codes[code]
            else:
                kind = self.kind(code.co_filename)
                if kind is not None and kind[0] == "student" and code.co_name != "<module>":
                    found = (code.co_qualname, kind[1])
            frame = frame.f_back
        return found

    def hook(self, frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        try:
            kind = self.kinds[code.co_filename]
        except KeyError:
            kind = self.kind(code.co_filename)
        if kind is None or kind[0] != "provided" or code.co_name == "<module>":
            return
        codes = self._student_codes()
        culprit = self._culprit(frame.f_back, codes)
        if culprit is None and threading.get_ident() != self.main_thread:
            culprit = self._culprit(sys._current_frames().get(self.main_thread), codes)
        if culprit is None:
            return
        function, (_, rule) = culprit
        called = f"{kind[1]}.{code.co_qualname}"
        self.violations += 1
        if (function, called) not in self.reported:
            self.reported.add((function, called))
            self.stream.write(INTEGRITY_MARKER + " " + json.dumps(
                {"function": function, "called": called, "rule": rule}) + "\n")
            self.stream.flush()
        raise ProvidedLayerRefused(f"{function} called {called}: {rule}")

    def start_cell(self):
        self.reported = set()
        self.violations = 0
        sys.setprofile(self.installed)
        threading.setprofile(self.installed)

    def end_cell(self, failed=False):
        """Remove the hook; return what the cell did to it ('' if nothing).

        Python drops a profile hook through which an exception passed: a refused call, or
        an interrupt that arrived while the hook ran. So a missing hook is tampering only
        in a cell that ended without an error (one that failed scores nothing anyway).
        """
        current = sys.getprofile()
        threading.setprofile(None)
        sys.setprofile(None)
        if current is self.installed or (current is None and (self.violations or failed)):
            return ""
        if current is None:
            return "the grader's profile hook (sys.setprofile(None))"
        return "sys.setprofile hook"

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
        """Write the tampering line that ``grading.sandbox.faults`` looks for."""
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
    snapshots, delegation, under_test = [], [], []

    def before(info=None):
        if not snapshots:
            snapshots.append(Snapshot(GUARDED_MODULES + list(extra_modules)))
            delegation.append(DelegationGuard(os.getcwd(), snapshots[0].stderr))
        else:   # between cells (a thread of the last cell may still run)
            changed = snapshots[0].restore()
            if changed:
                snapshots[0].report(changed)
        under_test[:] = [(getattr(info, "raw_cell", "") or "").startswith(UNDER_TEST)]
        if under_test[0]:
            delegation[0].start_cell()

    def after(result=None):
        failed = result is not None and not getattr(result, "success", True)
        hook = delegation[0].end_cell(failed) if under_test and under_test[0] else ""
        changed = ([hook] if hook else []) + snapshots[0].restore()
        if changed:
            snapshots[0].report(sorted(set(changed)))

    shell.events.register("pre_run_cell", before)
    shell.events.register("post_run_cell", after)


# Keep the references used above alive even if a cell deletes these module globals.
_KEEP = (builtins, math, operator, json, os, sys, threading)
