"""Execute a submitted notebook so that it always ends with a grade.

nbgrader's ``Execute`` preprocessor lets ``DeadKernelError`` (the student's code killed
the kernel: ``os._exit``, a segfault through ``ctypes``, the CPU limit) and
``CellTimeoutError`` (a cell ignored the interrupt after the timeout) escape from
``preprocess``. nbgrader's converter then logs "There was an error processing
assignment", deletes that student's autograded folder and moves on: the student has no
grade at all (``nbgrader/converters/base.py``, ``convert_notebooks``).

``FaultTolerantExecute`` replaces ``Execute`` in ``Autograde.autograde_preprocessors``
(see ``grading.sandbox.config.configure_sandbox``). It runs the notebook in the sandboxed
kernel and, when a cell kills or hangs the kernel:

* appends an error output to that cell that says what happened (so the cell scores 0
  and the feedback shows the reason);
* starts a fresh kernel, silently re-runs the cells that ran before (to restore their
  state) and goes on with the next cell;
* after ``max_kernel_restarts`` faults, or past ``notebook_timeout`` seconds, marks
  every remaining code cell as not run (an error output, so no test passes by default).

It also turns the tampering and integrity lines of ``grading.sandbox.guard`` into error outputs
of the cell during which numpy or builtins were tampered with, or a student's layer called
a provided one. With ``judge_checks`` (the hw5 course) the grader decides the test cells
itself (``grading.sandbox.judge.NotebookJudge``): each test cell reaches the kernel without its
references, the kernel reports what the checks got, the grader compares with values it
computed outside the kernel and scores the trained model with ``grading.sandbox.score_model``;
every integrity problem goes to the instructor's report
(``<course>/integrity/<assignment>/<student>.json``) and into the cell's feedback.

Time is bounded per cell and per submission:

* a test cell whose reference time is known (``RecordReferenceTimes`` measures the
  instructor's solution when the assignment is generated and stores the seconds in the
  cell's metadata, ``nndl.reference_seconds``, of the release notebook) gets
  ``timeout_factor`` times that plus ``timeout_margin`` seconds; other cells get
  ``Execute.timeout``;
* all notebooks of one submission share ``submission_timeout`` seconds (kernel starts
  included); cells not started by then are marked as not run, and a cell's limit never
  reaches past it;
* when an interrupted cell was inside a function of the student's own files, the error
  names that function, and the function is replaced in the kernel by one that raises the
  same message at once, so later cells that call it fail without waiting out their time.

``RestoreDeletedTests`` replaces nbgrader's ``OverwriteCells`` in
``Autograde.sanitize_preprocessors``: with ``add_missing_cells`` it puts test cells the
student deleted back from the gradebook, without the KeyError that nbgrader 0.9.6 raises
when the cell before a deleted test cell is neither a grade nor a solution cell (for
example a locked set-up cell), which again left the student without a grade.
"""

import json
import math
import os
import re
import signal
import time
from copy import deepcopy
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbclient.client import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, NbGraderPreprocessor, OverwriteCells
from traitlets import Bool, Float, Integer, Unicode

from grading.sandbox.guard import INTEGRITY_MARKER, MARKER
from grading.sandbox.kernel import KERNEL_NAME, SandboxKernelManager
from grading.sandbox.status import require_sandbox

FAULTS = (DeadKernelError, CellTimeoutError)

SIGNAL_CAUSES = {
    signal.SIGKILL: "it was killed (SIGKILL), e.g. by os.kill or for running out of memory",
    signal.SIGSEGV: "it crashed with a segmentation fault (e.g. through ctypes or a C extension)",
    signal.SIGXCPU: "it used up its CPU-time limit",
    signal.SIGABRT: "it aborted (SIGABRT)",
    signal.SIGBUS: "it crashed with a bus error",
    signal.SIGFPE: "it crashed with a floating-point exception",
}


# Where RecordReferenceTimes stores a cell's reference time: cell.metadata[KEY][SECONDS].
METADATA_KEY, SECONDS_KEY = "nndl", "reference_seconds"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_FRAME = re.compile(r"File (\S+?\.py):(\d+), in (\w+)")

# Code run silently in the kernel: replace a function that hung by one that fails at once.
STOP_FUNCTION = """
def _nndl_stop(module_name, function, message):
    import sys
    module = sys.modules.get(module_name)
    if module is None:
        return
    namespace = {{}}
    exec(f"def {{function}}(*args, **kwargs):\\n    raise TimeoutError({{message!r}})", namespace)
    code = namespace[function].__code__
    candidates = [vars(module).get(function)]
    candidates += [vars(value).get(function) for value in vars(module).values()
                   if isinstance(value, type) and value.__module__ == module_name]
    for candidate in candidates:
        candidate = getattr(candidate, "__func__", candidate)
        if candidate is None:
            continue
        try:
            candidate.__code__ = code   # every reference to the function now fails at once
        except (AttributeError, ValueError):   # not a Python function, or a closure
            pass
    if vars(module).get(function) is not None:
        setattr(module, function, namespace[function])
_nndl_stop({module!r}, {function!r}, {message!r})
del _nndl_stop
"""


def grade_id_of(cell):
    """The nbgrader grade id of ``cell``, or None."""
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _is_test_cell(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution") and cell.cell_type == "code"


def hung_function(outputs, folder):
    """(module, function, relative path, line) of the innermost frame in ``folder``'s files.

    ``outputs`` are a cell's outputs after an interrupt; the KeyboardInterrupt traceback
    shows where the code was. Only files of the notebook's own folder (the student's
    modules) count. None if no such frame is found.
    """
    found = None
    for output in outputs:
        if output.get("output_type") != "error":
            continue
        for line in output.get("traceback", []):
            for path, number, function in _FRAME.findall(_ANSI.sub("", line)):
                parts = Path(path).parts
                for depth in (2, 1):
                    relative = Path(*parts[-depth:])
                    if len(parts) >= depth and (Path(folder) / relative).is_file():
                        module = ".".join(relative.with_suffix("").parts)
                        found = (module, function, relative.as_posix(), int(number))
                        break
    return found


def error_output(ename, evalue):
    """An nbformat error output, as the student will see it in the feedback."""
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


def describe_exit(status):
    """Say in words why a kernel process ended with exit ``status`` (None if unknown)."""
    if status is None:
        return "the kernel process stopped"
    if status > 128 and status - 128 in SIGNAL_CAUSES:
        return "the kernel process stopped: " + SIGNAL_CAUSES[status - 128]
    if status > 128:
        return f"the kernel process stopped on signal {status - 128}"
    return f"the kernel process exited with status {status} (e.g. os._exit or sys.exit in a thread)"


class FaultTolerantExecute(Execute):
    """nbgrader's ``Execute``, sandboxed, and such that no fault loses the grade."""

    sandbox = Bool(True, help=(
        "Run notebooks in the bubblewrap-sandboxed kernel (grading.sandbox.kernel). "
        "Without a working sandbox, autograding refuses to run unless "
        "allow_unsandboxed is set (or NNDL_ALLOW_UNSANDBOXED=1).")).tag(config=True)
    allow_unsandboxed = Bool(False, help=(
        "Grade with an ordinary kernel when the sandbox does not work on this machine. "
        "Student code then runs with the instructor's rights.")).tag(config=True)
    max_kernel_restarts = Integer(3, help=(
        "Fresh kernels started after faults in one notebook; after that, the remaining "
        "cells are marked as not run.")).tag(config=True)
    judge_checks = Bool(False, help=(
        "Decide the test cells in the grader (grading.sandbox.judge): references never reach the "
        "kernel, expected values are computed outside it, the trained model is scored by "
        "grading.sandbox.score_model on the held-out data of $NNDL_DATA (required).")).tag(config=True)
    notebook_timeout = Integer(600, help=(
        "Wall-clock seconds for a whole notebook from its kernel's start, restarts "
        "included (0: no limit); cells not started by then are marked as not run.")
    ).tag(config=True)
    submission_timeout = Integer(180, help=(
        "Wall-clock seconds for all notebooks of one submission together, kernel starts "
        "included (0: no limit); cells not started by then are marked as not run.")
    ).tag(config=True)
    timeout_factor = Float(20.0, help=(
        "A cell with a reference time t (measured on the instructor's solution) may run "
        "timeout_factor * t + timeout_margin seconds.")).tag(config=True)
    timeout_margin = Float(5.0, help="See timeout_factor (seconds).").tag(config=True)

    # Seconds spent so far per (assignment, student): the budget spans the notebooks.
    _spent = {}

    def preprocess(self, nb, resources=None, km=None):
        sandboxed = self.sandbox and require_sandbox(self.allow_unsandboxed, self.log)
        NotebookClient.__init__(self, nb, km)
        self.kernel_manager_class = SandboxKernelManager if sandboxed else AsyncKernelManager
        if sandboxed:
            self.kernel_name = KERNEL_NAME
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._judge = None
        if self.judge_checks:
            from grading.sandbox.judge import NotebookJudge
            self._judge = NotebookJudge(self.config, resources, self.log)
        self._references = self._reference_seconds(resources)
        self._folder = resources.get("metadata", {}).get("path") or "."
        self._hung = []       # (module, function, message) replaced in the kernel
        self._budget_key = (resources.get("nbgrader", {}).get("assignment"),
                            resources.get("nbgrader", {}).get("student"))
        self.error_on_timeout = {
            "ename": "CellTimeoutError",
            "evalue": f"this cell did not finish within {self.timeout} s and was interrupted",
            "traceback": [f"\x1b[0;31mCellTimeoutError\x1b[0m: this cell did not finish within "
                          f"{self.timeout} s and was interrupted (an endless loop?)"],
        }
        started = time.monotonic()
        try:
            self._run_cells(resources)
        finally:
            self._spent[self._budget_key] = (self._spent.get(self._budget_key, 0.0)
                                             + time.monotonic() - started)
        self.set_widgets_metadata()
        if self._judge is not None:
            self._judge.finish()
        return self.nb, self.resources

    def _reference_seconds(self, resources):
        """{grade_id: reference seconds} from the release notebook, or {} if unknown."""
        info = resources.get("nbgrader", {})
        if not info.get("assignment") or not info.get("notebook"):
            return {}
        coursedir = CourseDirectory(config=self.config)
        path = Path(coursedir.format_path(coursedir.release_directory, ".", info["assignment"]),
                    f"{info['notebook']}.ipynb")
        try:
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        except (OSError, ValueError, KeyError):
            return {}
        return {grade_id_of(cell): cell["metadata"][METADATA_KEY][SECONDS_KEY]
                for cell in cells if grade_id_of(cell)
                and SECONDS_KEY in cell.get("metadata", {}).get(METADATA_KEY, {})}

    def _remaining(self):
        """Seconds left of the submission's budget (None: no limit)."""
        if not self.submission_timeout:
            return None
        spent = self._spent.get(self._budget_key, 0.0) + time.monotonic() - self._started
        return self.submission_timeout - spent

    def _cell_limit(self, cell):
        """(seconds, reason) of this cell's time limit."""
        reference = self._references.get(grade_id_of(cell)) if cell is not None else None
        if reference is not None:
            limit = math.ceil(self.timeout_factor * reference + self.timeout_margin)
            reason = (f"{limit} s ({self.timeout_factor:g} times the reference solution's "
                      f"{reference:.2f} s, plus {self.timeout_margin:g} s)")
        else:
            limit, reason = self.timeout, f"{self.timeout} s"
        remaining = self._remaining()
        if remaining is not None and remaining < limit:
            limit = max(1, math.ceil(remaining))
            reason = (f"{limit} s (what was left of the submission's "
                      f"{self.submission_timeout} s time budget)")
        return limit, reason

    def _get_timeout(self, cell):
        if cell is None:
            return super()._get_timeout(cell)
        return self._cell_limit(cell)[0]

    def _run_cells(self, resources):
        ran = []          # cells that got a reply: re-run after a restart
        self._sent = {}   # index -> the source the kernel ran (see grading.sandbox.judge)
        restarts = 0
        stop_reason = None
        self._started = time.monotonic()
        budget_gone = (f"the submission used up its {self.submission_timeout} s time budget "
                       f"(all notebooks together)")
        remaining = self._remaining()
        if remaining is not None and remaining <= 0:
            stop_reason = budget_gone
        else:
            self._start_kernel()
        deadline = time.monotonic() + self.notebook_timeout if self.notebook_timeout else None
        try:
            for index, cell in enumerate(self.nb.cells):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                if stop_reason is None and deadline is not None and time.monotonic() > deadline:
                    stop_reason = f"the notebook used up its {self.notebook_timeout} s time limit"
                remaining = self._remaining()
                if stop_reason is None and remaining is not None and remaining <= 0:
                    stop_reason = budget_gone
                if stop_reason is not None:
                    cell.outputs = [error_output("NotRun", f"this cell was not run: {stop_reason}")]
                    continue
                original = cell.source
                sent = self._judge.kernel_source(cell) if self._judge is not None else None
                self._sent[index] = original if sent is None else sent
                cell.source = self._sent[index]
                try:
                    self.preprocess_cell(cell, resources, index)
                except FAULTS as fault:
                    cell = self.nb.cells[index]
                    restarting = restarts < self.max_kernel_restarts
                    cell.outputs.append(self._fault_output(fault, restarting, cell))
                    self.log.warning("Cell %d: %s", index, cell.outputs[-1].evalue)
                    remaining = self._remaining()
                    if remaining is not None and remaining <= 0:
                        stop_reason = budget_gone
                    elif restarting:
                        restarts += 1
                        stop_reason = self._restart(ran)
                    else:
                        stop_reason = f"the kernel failed {restarts + 1} times in this notebook"
                else:
                    ran.append(index)
                    self._flag_tampering(self.nb.cells[index])
                    self._stop_hung_function(self.nb.cells[index])
                finally:
                    self.nb.cells[index].source = original
                if self._judge is not None:
                    self._judge.after_cell(self.nb.cells[index])
        finally:
            self._stop_kernel()

    def _stop_hung_function(self, cell):
        """After an interrupted cell: name the function that hung and make it fail fast."""
        timed_out = [out for out in cell.outputs
                     if out.output_type == "error" and out.get("ename") == "CellTimeoutError"]
        if not timed_out:
            return
        limit, reason = self._cell_limit(cell)
        found = hung_function(cell.outputs, self._folder)
        if found is None:
            timed_out[-1].update(error_output("CellTimeoutError", (
                f"this cell did not finish within its time limit of {reason} and was "
                f"interrupted (an endless loop?)")))
            return
        module, function, relative, line = found
        message = (f"{function} ({relative}, line {line}) did not finish within the time limit "
                   f"of {reason} in test cell {grade_id_of(cell) or '(no id)'} and was stopped "
                   f"(an endless loop?); later cells that call {function} fail at once")
        timed_out[-1].update(error_output("CellTimeoutError", message))
        self._hung.append((module, function, message))
        self._send_stops(self._hung[-1:])

    def _send_stops(self, hung):
        """Replace the functions of ``hung`` in the kernel (silently)."""
        for module, function, message in hung:
            code = STOP_FUNCTION.format(module=module, function=function, message=message)
            try:
                msg_id = self.kc.execute(code, silent=True, store_history=False,
                                         allow_stdin=False)
                self.wait_for_reply(msg_id)
            except FAULTS:
                return

    def _start_kernel(self):
        self.km = self.create_kernel_manager()
        self.start_new_kernel()
        self.start_new_kernel_client()
        info = self.wait_for_reply(self.kc.kernel_info())
        self.nb.metadata["language_info"] = info["content"]["language_info"]

    def _stop_kernel(self, now=False):
        if self.km is None:
            return
        graceful = self.shutdown_kernel
        self.shutdown_kernel = "immediate" if now else graceful
        try:
            self._cleanup_kernel()
        finally:
            self.shutdown_kernel = graceful
            self.km = self.kc = None

    def _fault_output(self, fault, restarting, cell=None):
        after = ("Grading went on in a fresh kernel." if restarting
                 else "The cells after this one were not run.")
        if isinstance(fault, DeadKernelError):
            process = getattr(getattr(self.km, "provisioner", None), "process", None)
            status = process.poll() if process is not None else None
            return error_output("KernelDied", f"the kernel died while running this cell: "
                                f"{describe_exit(status)}. {after}")
        limit = self._cell_limit(cell)[1] if cell is not None else f"{self.timeout} s"
        return error_output("CellTimeoutError", (
            f"this cell did not finish within its time limit of {limit} and the kernel did "
            f"not respond to the interrupt. {after}"))

    def _restart(self, ran):
        """Fresh kernel, earlier cells re-run; return why grading stops, or None."""
        self._stop_kernel(now=True)
        self._start_kernel()
        for index in ran:
            cell = self.nb.cells[index]
            try:
                msg_id = self.kc.execute(self._sent.get(index, cell.source), store_history=False,
                                         allow_stdin=False)
                reply = self.wait_for_reply(msg_id, cell)
            except FAULTS:
                reply = None
            if reply is None:
                return "re-running the earlier cells in a fresh kernel failed"
        self._send_stops(self._hung)
        return None

    def _flag_tampering(self, cell):
        """Move the guard's tampering and integrity lines out of stderr into error outputs."""
        reports, refused = [], []
        kept = []
        for output in cell.outputs:
            if output.output_type == "stream" and (MARKER in output.text
                                                   or INTEGRITY_MARKER in output.text):
                lines = output.text.splitlines(keepends=True)
                reports += [line[len(MARKER):].strip() for line in lines if line.startswith(MARKER)]
                for line in lines:
                    if line.startswith(INTEGRITY_MARKER):
                        try:
                            refused.append(json.loads(line[len(INTEGRITY_MARKER):]))
                        except ValueError:
                            reports.append("the grader's integrity line was forged")
                output.text = "".join(line for line in lines if not line.startswith(
                    (MARKER, INTEGRITY_MARKER)))
                if not output.text:
                    continue
            kept.append(output)
        errors = []
        for item in refused:
            message = f"{item.get('function')} called {item.get('called')}: {item.get('rule')}"
            errors.append(error_output("IntegrityError", message))
            if self._judge is not None:
                self._judge.integrity(cell, "delegation", message, item.get("function"),
                                      item.get("rule"))
        if reports:
            errors.append(error_output("TamperingDetected", " ".join(reports)))
            if self._judge is not None:
                self._judge.integrity(cell, "tampering", " ".join(reports),
                                      rule="numpy, builtins and utils.checks stay as provided")
        if errors:
            cell.outputs = kept + errors


class RestoreDeletedTests(OverwriteCells):
    """nbgrader's ``OverwriteCells``, putting deleted grade cells back in their place."""

    def add_missing_grade_cells(self, nb, resources):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        order = [cell.name for cell in source_nb.source_cells]
        grade_cells = {cell.name: cell for cell in source_nb.grade_cells}
        solution_ids = {cell.name for cell in source_nb.solution_cells}
        sources = {cell.name: cell for cell in source_nb.source_cells}
        for position, name in enumerate(order):
            if name not in grade_cells or self._index(nb, name) is not None:
                continue
            self.log.warning("Test cell %s was deleted from the submission; restoring it", name)
            insert_at = 0
            for earlier in reversed(order[:position]):
                index = self._index(nb, earlier)
                if index is not None:
                    insert_at = index + 1
                    break
            restored = self.missing_cell_transform(
                sources[name], grade_cells[name].max_score, is_solution=name in solution_ids)
            restored["id"] = "restored-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)[:54]
            nb.cells.insert(insert_at, restored)
        return nb, resources

    @staticmethod
    def _index(nb, grade_id):
        for index, cell in enumerate(nb.cells):
            if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
                return index
        return None


class RecordReferenceTimes(NbGraderPreprocessor):
    """Time every test cell on the instructor's solution; store it in the cell's metadata.

    For ``nbgrader generate_assignment``, first in ``GenerateAssignment.preprocessors`` (the
    notebook still holds its solutions and hidden tests). It runs the source notebook in
    its folder with ``NBGRADER_EXECUTION=autograde``, as autograde will, and writes the
    seconds of each grade cell that ran without an error into that cell's metadata,
    ``metadata.nndl.reference_seconds``, which the release keeps. ``FaultTolerantExecute``
    reads them from the release notebook to set each cell's time limit.
    """

    enabled = Bool(True, help="Measure the reference times (off: cells keep none, and "
                              "autograde uses Execute.timeout).").tag(config=True)
    kernel_name = Unicode("python3", help="Kernel that runs the solution.").tag(config=True)
    timeout = Integer(600, help="Seconds per cell of the solution run.").tag(config=True)

    def preprocess(self, nb, resources):
        if not self.enabled:
            return nb, resources
        folder = resources.get("metadata", {}).get("path") or "."
        seconds = self._time_cells(deepcopy(nb), folder)
        for cell in nb.cells:
            if grade_id_of(cell) in seconds:
                cell.metadata.setdefault(METADATA_KEY, {})[SECONDS_KEY] = seconds[grade_id_of(cell)]
        self.log.info("Reference times of the test cells: %s", seconds)
        return nb, resources

    def _time_cells(self, nb, folder):
        """{grade_id: seconds} of the grade cells of ``nb`` that ran without an error."""
        client = NotebookClient(nb, timeout=self.timeout, kernel_name=self.kernel_name,
                                allow_errors=True, resources={"metadata": {"path": folder}})
        saved = os.environ.get("NBGRADER_EXECUTION")
        os.environ["NBGRADER_EXECUTION"] = "autograde"
        seconds = {}
        try:
            with client.setup_kernel():
                for index, cell in enumerate(nb.cells):
                    if cell.cell_type != "code" or not cell.source.strip():
                        continue
                    start = time.perf_counter()
                    client.execute_cell(cell, index)
                    elapsed = time.perf_counter() - start
                    failed = any(out.output_type == "error" for out in cell.outputs)
                    if _is_test_cell(cell) and not failed:
                        seconds[grade_id_of(cell)] = round(elapsed, 3)
        finally:
            if saved is None:
                os.environ.pop("NBGRADER_EXECUTION", None)
            else:
                os.environ["NBGRADER_EXECUTION"] = saved
        return seconds
