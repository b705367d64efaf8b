"""Execute a submitted notebook so that it always ends with a grade.

nbgrader's ``Execute`` preprocessor lets ``DeadKernelError`` (the student's code killed
the kernel: ``os._exit``, a segfault through ``ctypes``, the CPU limit) and
``CellTimeoutError`` (a cell ignored the interrupt after the timeout) escape from
``preprocess``. nbgrader's converter then logs "There was an error processing
assignment", deletes that student's autograded folder and moves on: the student has no
grade at all (``nbgrader/converters/base.py``, ``convert_notebooks``).

``FaultTolerantExecute`` replaces ``Execute`` in ``Autograde.autograde_preprocessors``
(see ``grading.sandbox.configure_sandbox``). It runs the notebook in the sandboxed
kernel and, when a cell kills or hangs the kernel:

* appends an error output to that cell that says what happened (so the cell scores 0
  and the feedback shows the reason);
* starts a fresh kernel, silently re-runs the cells that ran before (to restore their
  state) and goes on with the next cell;
* after ``max_kernel_restarts`` faults, or past ``notebook_timeout`` seconds, marks
  every remaining code cell as not run (an error output, so no test passes by default).

It also turns the tampering and integrity lines of ``sandbox_guard`` into error outputs
of the cell during which numpy or builtins were tampered with, or a student's layer called
a provided one. With ``judge_checks`` (the hw5 course) the grader decides the test cells
itself (``grading.judge.NotebookJudge``): each test cell reaches the kernel without its
references, the kernel reports what the checks got, the grader compares with values it
computed outside the kernel and scores the trained model with ``grading.score_model``;
every integrity problem goes to the instructor's report
(``<course>/integrity/<assignment>/<student>.json``) and into the cell's feedback.

``RestoreDeletedTests`` replaces nbgrader's ``OverwriteCells`` in
``Autograde.sanitize_preprocessors``: with ``add_missing_cells`` it puts test cells the
student deleted back from the gradebook, without the KeyError that nbgrader 0.9.6 raises
when the cell before a deleted test cell is neither a grade nor a solution cell (for
example a locked set-up cell), which again left the student without a grade.
"""

import json
import re
import signal
import time

from jupyter_client.manager import AsyncKernelManager
from nbclient.client import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute, OverwriteCells
from traitlets import Bool, Integer

from .sandbox import require_sandbox
from .sandbox_guard import INTEGRITY_MARKER, MARKER
from .sandbox_kernel import KERNEL_NAME, SandboxKernelManager

FAULTS = (DeadKernelError, CellTimeoutError)

SIGNAL_CAUSES = {
    signal.SIGKILL: "it was killed (SIGKILL), e.g. by os.kill or for running out of memory",
    signal.SIGSEGV: "it crashed with a segmentation fault (e.g. through ctypes or a C extension)",
    signal.SIGXCPU: "it used up its CPU-time limit",
    signal.SIGABRT: "it aborted (SIGABRT)",
    signal.SIGBUS: "it crashed with a bus error",
    signal.SIGFPE: "it crashed with a floating-point exception",
}


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
        "Run notebooks in the bubblewrap-sandboxed kernel (grading.sandbox_kernel). "
        "Without a working sandbox, autograding refuses to run unless "
        "allow_unsandboxed is set (or NNDL_ALLOW_UNSANDBOXED=1).")).tag(config=True)
    allow_unsandboxed = Bool(False, help=(
        "Grade with an ordinary kernel when the sandbox does not work on this machine. "
        "Student code then runs with the instructor's rights.")).tag(config=True)
    max_kernel_restarts = Integer(3, help=(
        "Fresh kernels started after faults in one notebook; after that, the remaining "
        "cells are marked as not run.")).tag(config=True)
    judge_checks = Bool(False, help=(
        "Decide the test cells in the grader (grading.judge): references never reach the "
        "kernel, expected values are computed outside it, the trained model is scored by "
        "grading.score_model on the held-out data of $NNDL_DATA (required).")).tag(config=True)
    notebook_timeout = Integer(600, help=(
        "Wall-clock seconds for a whole notebook from its kernel's start, restarts "
        "included (0: no limit); cells not started by then are marked as not run.")).tag(config=True)

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
            from .judge import NotebookJudge
            self._judge = NotebookJudge(self.config, resources, self.log)
        self.error_on_timeout = {
            "ename": "CellTimeoutError",
            "evalue": f"this cell did not finish within {self.timeout} s and was interrupted",
            "traceback": [f"\x1b[0;31mCellTimeoutError\x1b[0m: this cell did not finish within "
                          f"{self.timeout} s and was interrupted (an endless loop?)"],
        }
        self._run_cells(resources)
        self.set_widgets_metadata()
        if self._judge is not None:
            self._judge.finish()
        return self.nb, self.resources

    def _run_cells(self, resources):
        ran = []          # cells that got a reply: re-run after a restart
        self._sent = {}   # index -> the source the kernel ran (see grading.judge)
        restarts = 0
        stop_reason = None
        self._start_kernel()
        deadline = time.monotonic() + self.notebook_timeout if self.notebook_timeout else None
        try:
            for index, cell in enumerate(self.nb.cells):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                if stop_reason is None and deadline is not None and time.monotonic() > deadline:
                    stop_reason = f"the notebook used up its {self.notebook_timeout} s time limit"
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
                    cell.outputs.append(self._fault_output(fault, restarting))
                    self.log.warning("Cell %d: %s", index, cell.outputs[-1].evalue)
                    if restarting:
                        restarts += 1
                        stop_reason = self._restart(ran)
                    else:
                        stop_reason = f"the kernel failed {restarts + 1} times in this notebook"
                else:
                    ran.append(index)
                    self._flag_tampering(self.nb.cells[index])
                finally:
                    self.nb.cells[index].source = original
                if self._judge is not None:
                    self._judge.after_cell(self.nb.cells[index])
        finally:
            self._stop_kernel()

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

    def _fault_output(self, fault, restarting):
        after = ("Grading went on in a fresh kernel." if restarting
                 else "The cells after this one were not run.")
        if isinstance(fault, DeadKernelError):
            process = getattr(getattr(self.km, "provisioner", None), "process", None)
            status = process.poll() if process is not None else None
            return error_output("KernelDied", f"the kernel died while running this cell: "
                                f"{describe_exit(status)}. {after}")
        return error_output("CellTimeoutError", (
            f"this cell did not finish within {self.timeout} s and the kernel did not respond "
            f"to the interrupt. {after}"))

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
