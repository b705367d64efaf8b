"""Safe autograding: the course configuration's entry point to the sandbox.

In ``nbgrader_config.py``::

    from grading.sandbox import configure_sandbox
    configure_sandbox(c)

makes ``nbgrader autograde`` run every submitted notebook in the bubblewrap-sandboxed
kernel (``grading.sandbox_kernel``, ``grading/sandbox_launch.py``) through the
fault-tolerant ``grading.faults.FaultTolerantExecute``, restores deleted test cells
from the gradebook and keeps submitted symbolic links out (``grading.sandbox_links``).
Students' own JupyterLab is not affected: only nbgrader's autograde step uses the
sandboxed kernel.

On a machine where the sandbox does not work (no ``bwrap``, or its self-test fails),
autograding refuses to run, with the reason, unless the instructor opts out with the
environment variable ``NNDL_ALLOW_UNSANDBOXED=1`` or
``c.FaultTolerantExecute.allow_unsandboxed = True``. See docs/sandbox.md.
"""

import functools
import os

from .sandbox_launch import SandboxError, self_test

OPT_OUT_VARIABLE = "NNDL_ALLOW_UNSANDBOXED"
INSTALL_HINT = ("Install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap) and make "
                "sure user namespaces are enabled, or set NNDL_ALLOW_UNSANDBOXED=1 to grade "
                "WITHOUT a sandbox (student code then runs with your rights).")

KERNEL_LIMITS = ("memory_limit", "cpu_time_limit", "process_limit", "file_size_limit",
                 "open_files_limit", "tmp_size", "extra_readonly_paths", "guarded_modules",
                 "data_env_vars")


class SandboxUnavailable(RuntimeError):
    """Autograding was refused because the sandbox does not work on this machine."""


@functools.lru_cache(maxsize=None)
def sandbox_status():
    """Return ``(True, "")`` if the sandbox works here, else ``(False, reason)``.

    Runs the self-test of ``sandbox_launch`` once per process (about 0.3 s).
    """
    try:
        self_test()
    except (SandboxError, OSError, ValueError) as err:
        return False, str(err)
    return True, ""


def opted_out(allow_unsandboxed=False):
    """Whether the instructor allowed grading without the sandbox."""
    return allow_unsandboxed or os.environ.get(OPT_OUT_VARIABLE, "") == "1"


def require_sandbox(allow_unsandboxed=False, log=None):
    """Return True to grade sandboxed, False to grade unsandboxed (opted out).

    Raises SandboxUnavailable, with the reason and how to fix it, when the sandbox does
    not work and the instructor did not opt out.
    """
    works, reason = sandbox_status()
    if works:
        return True
    if opted_out(allow_unsandboxed):
        if log is not None:
            log.warning("Grading WITHOUT a sandbox (%s=1): %s", OPT_OUT_VARIABLE, reason)
        return False
    raise SandboxUnavailable(f"Refusing to autograde: the grading sandbox does not work on "
                             f"this machine ({reason}). {INSTALL_HINT}")


class AutogradeRefused(SystemExit):
    """Stops a whole ``nbgrader autograde`` run before it grades anyone.

    A SystemExit, because nbgrader's converter catches every Exception per submission,
    records the failure and goes on with the next student.
    """


def refuse_unless_sandboxed(config, **hook_args):
    """nbgrader's pre-convert hook: refuse the run if the sandbox does not work here.

    nbgrader calls it for each submission before it writes anything of that submission
    (and the first call comes before any grading), so a machine without a working
    sandbox grades nobody, not every student half-way. ``config`` is the course's config
    (the opt-outs of ``FaultTolerantExecute`` apply); ``hook_args`` are nbgrader's.
    """
    settings = config.FaultTolerantExecute
    if not settings.get("sandbox", True):
        return
    try:
        require_sandbox(settings.get("allow_unsandboxed", False))
    except SandboxUnavailable as err:
        raise AutogradeRefused(f"nbgrader autograde: {err}") from None


def refuse_without_heldout_data(previous=None, **hook_args):
    """nbgrader's pre-convert hook of a course whose grader scores trained models.

    Stops the whole ``nbgrader autograde`` run (SystemExit: nbgrader's converter catches
    every Exception per submission) before anyone is graded when the held-out data are
    not configured (``grading.score_model.heldout_data_dir``). ``previous``: a hook that
    was set before, called first.
    """
    from .score_model import HeldOutDataMissing, heldout_data_dir
    if previous is not None:
        previous(**hook_args)
    try:
        heldout_data_dir()
    except HeldOutDataMissing as err:
        raise AutogradeRefused(f"nbgrader autograde: {err}") from None


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
        grading/judge.py): for notebooks whose tests use ``utils.checks``. A run then
        refuses to start without held-out data (``refuse_without_heldout_data``).
    submission_timeout : int, optional
        Wall-clock seconds for all notebooks of a submission together
        (``FaultTolerantExecute.submission_timeout``, 180 by default).
    **kernel_limits
        Traits of ``SandboxKernelManager``: memory_limit, cpu_time_limit,
        process_limit, file_size_limit, open_files_limit (bytes/seconds/counts),
        tmp_size, extra_readonly_paths, guarded_modules, data_env_vars.
    """
    from nbgrader.preprocessors import Execute, OverwriteCells
    from .faults import FaultTolerantExecute, RestoreDeletedTests
    from .sandbox_links import DropSubmittedLinks

    unknown = sorted(set(kernel_limits) - set(KERNEL_LIMITS))
    if unknown:
        raise ValueError(f"unknown sandbox settings {unknown}; known: {list(KERNEL_LIMITS)}")
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
        setattr(c.SandboxKernelManager, name, value)
    return c
