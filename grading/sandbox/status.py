"""Whether autograding may run here: the sandbox's self-test, and the refusals.

``require_sandbox`` decides, per notebook, between the sandboxed kernel and (only when the
instructor opted out) an ordinary one. ``refuse_unless_sandboxed`` and
``refuse_without_heldout_data`` are nbgrader pre-convert hooks that stop a whole
``nbgrader autograde`` run before its first submission when the sandbox does not work or
the held-out data are missing (``grading.sandbox.config.configure_sandbox`` installs them).
"""

import functools
import os
import subprocess
import sys

from grading.sandbox.launch import SandboxError, self_test
from grading.sandbox.score_model import HeldOutDataMissing, heldout_data_dir

OPT_OUT_VARIABLE = "NNDL_ALLOW_UNSANDBOXED"
INSTALL_HINT = ("Install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap) and make "
                "sure user namespaces are enabled, or set NNDL_ALLOW_UNSANDBOXED=1 to grade "
                "WITHOUT a sandbox (student code then runs with your rights).")


class SandboxUnavailable(RuntimeError):
    """Autograding was refused because the sandbox does not work on this machine."""


@functools.lru_cache(maxsize=None)
def sandbox_status():
    """Return ``(True, "")`` if the sandbox works here, else ``(False, reason)``.

    Runs the self-test of ``grading.sandbox.launch`` once per process (about 0.3 s), and
    checks that the kernelspec's command can start the launcher.
    """
    try:
        self_test()
        check_launcher_importable()
    except (SandboxError, OSError, ValueError) as err:
        return False, str(err)
    return True, ""


def check_launcher_importable(python=sys.executable):
    """Raise SandboxError unless ``python -I -m grading.sandbox.launch`` (the grading
    kernelspec's command) finds the launcher: ``-I`` ignores PYTHONPATH and the current
    folder, so the course must be installed in the environment."""
    proc = subprocess.run([python, "-I", "-c", "import grading.sandbox.launch"],
                          capture_output=True, text=True, timeout=60, cwd="/")
    if proc.returncode != 0:
        raise SandboxError(
            f"the grading kernel's launcher cannot be imported by `{python} -I` "
            f"({proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else 'no output'}): "
            f"install the course in this environment (pip install -e . at the course root); "
            f"PYTHONPATH does not reach the launcher")


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
    not configured (``grading.sandbox.score_model.heldout_data_dir``). ``previous``: a hook that
    was set before, called first.
    """
    if previous is not None:
        previous(**hook_args)
    try:
        heldout_data_dir()
    except HeldOutDataMissing as err:
        raise AutogradeRefused(f"nbgrader autograde: {err}") from None
