"""Safe autograding: the course configuration's entry point to the sandbox.

In ``nbgrader_config.py``::

    from grading.sandbox.config import configure_sandbox
    configure_sandbox(c)

makes ``nbgrader autograde`` run every submitted notebook in the bubblewrap-sandboxed
kernel (``grading.sandbox.kernel``, ``grading/sandbox/launch.py``) through the
fault-tolerant ``grading.sandbox.faults.FaultTolerantExecute``, restores deleted test cells
from the gradebook and keeps submitted symbolic links out (``grading.sandbox.links``).
Students' own JupyterLab is not affected: only nbgrader's autograde step uses the
sandboxed kernel.

On a machine where the sandbox does not work (no ``bwrap``, or its self-test fails),
autograding refuses to run, with the reason, unless the instructor opts out with the
environment variable ``NNDL_ALLOW_UNSANDBOXED=1`` or
``c.FaultTolerantExecute.allow_unsandboxed = True``. See docs/sandbox.md.
"""

import functools

from nbgrader.preprocessors import Execute, OverwriteCells

from grading.sandbox.faults import FaultTolerantExecute, RestoreDeletedTests
from grading.sandbox.links import DropSubmittedLinks
from grading.sandbox.policy import Policy
from grading.sandbox.status import refuse_unless_sandboxed, refuse_without_heldout_data


def _replace(preprocessors, original, replacement, trait):
    """``preprocessors`` with the class ``original`` (or its import path) swapped."""
    names = {original.__name__, f"nbgrader.preprocessors.{original.__name__}",
             f"{original.__module__}.{original.__name__}"}
    result = [replacement if item is original or (isinstance(item, str) and item in names)
              else item for item in preprocessors]
    if replacement not in result:
        raise ValueError(f"Autograde.{trait} has no nbgrader {original.__name__} to replace: "
                         f"{preprocessors!r}")
    return result


def _preprocessors(c, trait):
    from nbgrader.converters import Autograde
    if trait in c.Autograde:
        return list(c.Autograde[trait])
    return Autograde.class_traits()[trait].default()


def configure_sandbox(c, cell_timeout=None, notebook_timeout=None, submission_timeout=None,
                      judge_checks=False, **kernel_limits):
    """Make autograding sandboxed and fault tolerant in the nbgrader config ``c``.

    Parameters
    ----------
    c : traitlets.config.Config
        The ``c`` of ``nbgrader_config.py``. Call this after any other setting of
        ``Autograde.autograde_preprocessors``: it swaps nbgrader's ``Execute`` in that
        list for ``FaultTolerantExecute`` and ``OverwriteCells`` in
        ``Autograde.sanitize_preprocessors`` for ``RestoreDeletedTests``, keeping the rest,
        and puts ``DropSubmittedLinks`` first in the sanitize list. It also sets
        ``Autograde.pre_convert_hook``, so that a run stops before its first submission
        when the sandbox does not work here (``refuse_unless_sandboxed``).
    cell_timeout : int, optional
        Wall-clock seconds per cell (``Execute.timeout``); unchanged if None.
    notebook_timeout : int, optional
        Wall-clock seconds per notebook (``FaultTolerantExecute.notebook_timeout``).
    judge_checks : bool
        Let the grader decide the test cells (``FaultTolerantExecute.judge_checks``,
        grading/sandbox/judge.py): for notebooks whose tests use ``utils.checks``. A run then
        refuses to start without held-out data (``refuse_without_heldout_data``).
    submission_timeout : int, optional
        Wall-clock seconds for all notebooks of a submission together
        (``FaultTolerantExecute.submission_timeout``, 180 by default).
    **kernel_limits
        Fields of ``grading.sandbox.policy.Policy``, set as the traits of the same name
        of ``SandboxKernelManager``: memory_limit, cpu_time_limit, process_limit,
        file_size_limit, open_files_limit (bytes/seconds/counts), tmp_size,
        extra_readonly_paths, data_env_vars, guarded_modules.
    """
    Policy.from_mapping(kernel_limits, "configure_sandbox()")   # unknown names, bad values
    for trait, original, replacement in [
            ("autograde_preprocessors", Execute, FaultTolerantExecute),
            ("sanitize_preprocessors", OverwriteCells, RestoreDeletedTests)]:
        c.Autograde[trait] = _replace(_preprocessors(c, trait), original, replacement, trait)
    if DropSubmittedLinks not in c.Autograde.sanitize_preprocessors:
        c.Autograde.sanitize_preprocessors = [DropSubmittedLinks] + c.Autograde.sanitize_preprocessors
    c.OverwriteCells.add_missing_cells = True
    c.Autograde.pre_convert_hook = functools.partial(refuse_unless_sandboxed, c)
    if cell_timeout is not None:
        c.Execute.timeout = cell_timeout
    if notebook_timeout is not None:
        c.FaultTolerantExecute.notebook_timeout = notebook_timeout
    c.FaultTolerantExecute.judge_checks = bool(judge_checks)
    if judge_checks:
        previous = c.Autograde.get("pre_convert_hook")
        c.Autograde.pre_convert_hook = functools.partial(refuse_without_heldout_data, previous)
    if submission_timeout is not None:
        c.FaultTolerantExecute.submission_timeout = submission_timeout
    for name, value in kernel_limits.items():
        setattr(c.SandboxKernelManager, name, list(value) if isinstance(value, tuple) else value)
    return c
