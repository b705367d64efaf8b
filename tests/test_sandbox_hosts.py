"""Where the grading sandbox runs: the instructor's Python environment, unprivileged
instructors, and hosts that forbid user namespaces.

The kernel must start in the environment nbgrader runs in (a venv's ``bin/python`` is a
symlink whose target knows nothing of the venv); an unprivileged instructor needs user
namespaces, and where the host forbids them autograde must stop before grading anyone,
naming the setting and its fix.
"""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grading.sandbox import config, launch, status
from grading.sandbox.policy import Policy
from tests.adversarial.toy_course import CORRECT, WRONG_SCALE, build_course, scores

works, reason = status.sandbox_status()
needs_sandbox = pytest.mark.skipif(not works, reason=f"sandbox unavailable: {reason}")
SANDBOX = Path(launch.__file__).parent
REPO = SANDBOX.parents[1]


def test_kernel_python_is_the_environment_not_the_symlink_target(tmp_path, monkeypatch):
    venv_bin = tmp_path / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").symlink_to(os.path.realpath(sys.executable))
    monkeypatch.setattr(sys, "executable", str(venv_bin / "python"))
    # the venv's own path, so that Python finds its pyvenv.cfg, not the base interpreter
    assert launch.environment_python() == str(venv_bin.resolve() / "python")
    cmd = launch.bwrap_command(str(tmp_path), str(tmp_path), Policy(), [], privileged=False)
    assert cmd[cmd.index("--") + 1] == str(venv_bin.resolve() / "python")


@needs_sandbox
def test_kernel_sees_the_site_packages_of_the_running_environment(tmp_path):
    from tests.test_sandbox import run_cells
    work = tmp_path / "alice" / "hw5"
    work.mkdir(parents=True)
    out = run_cells(work, "import sys, ipykernel, numpy\nprint(sys.prefix)")
    # sys.prefix is the venv itself when the tests run in one (as README's set-up does)
    assert out[0].strip() == os.path.realpath(sys.prefix)


def fake_proc_sys(root, **values):
    for name, value in values.items():
        path = root.joinpath(*name.split("__"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{value}\n")
    return str(root)


@pytest.mark.parametrize("settings, named, fix", [
    ({"user__max_user_namespaces": 0}, "user.max_user_namespaces = 0",
     "sysctl -w user.max_user_namespaces="),
    ({"user__max_user_namespaces": 15000, "kernel__unprivileged_userns_clone": 0},
     "kernel.unprivileged_userns_clone = 0", "sysctl -w kernel.unprivileged_userns_clone=1"),
    ({"user__max_user_namespaces": 15000, "kernel__apparmor_restrict_unprivileged_userns": 1},
     "kernel.apparmor_restrict_unprivileged_userns = 1", "AppArmor profile"),
])
def test_userns_diagnosis_names_the_setting_and_the_fix(tmp_path, settings, named, fix):
    proc_sys = fake_proc_sys(tmp_path, **settings)
    why = launch.userns_diagnosis("bwrap: setting up uid map: Permission denied", proc_sys)
    assert named in why and fix in why


def test_userns_diagnosis_blames_nothing_on_a_permissive_host(tmp_path):
    proc_sys = fake_proc_sys(tmp_path, user__max_user_namespaces=15000,
                             kernel__unprivileged_userns_clone=1,
                             kernel__apparmor_restrict_unprivileged_userns=0)
    assert launch.userns_diagnosis("bwrap: execvp foo: No such file", proc_sys) is None


UNPRIVILEGED_SELF_TEST = """
import sys
sys.path.insert(0, {copy!r})
from grading.sandbox import launch
try:
    launch.self_test()
except launch.SandboxError as err:
    print("REFUSED:", err)
else:
    print("WORKS")
"""


def run_unprivileged(tmp_path, max_user_namespaces):
    """Run the sandbox self-test as an unprivileged user (uid 65534) on a host whose
    ``user.max_user_namespaces`` is ``max_user_namespaces``.

    The host is a user namespace of its own (root maps all ids 0-65535 into it), so the
    setting is changed for this test only. The launcher runs from a world-readable copy
    of the files it needs (itself and the files it binds into the sandbox) with Debian's
    /usr/bin/python3: the standard library is all they import.
    """
    if os.geteuid() != 0:
        pytest.skip("needs root: it makes a user namespace with its own namespace limit")
    if not (shutil.which("unshare") and shutil.which("setpriv") and os.path.exists("/usr/bin/python3")):
        pytest.skip("needs unshare and setpriv (util-linux) and /usr/bin/python3")
    copy = Path(os.path.realpath(tmp_path)) / "launcher"
    (copy / "grading" / "sandbox").mkdir(parents=True)
    (copy / "grading" / "__init__.py").touch()
    for name in ("__init__.py", "launch.py", *launch.INSIDE_FILES):
        shutil.copy(SANDBOX / name, copy / "grading" / "sandbox" / name)
    for folder in [copy, *copy.parents]:
        if folder == Path("/"):
            break
        os.chmod(folder, os.stat(folder).st_mode | 0o055)
    subprocess.run(["chmod", "-R", "o+rX", str(copy)], check=True)
    script = UNPRIVILEGED_SELF_TEST.format(copy=str(copy))
    # after the ids are mapped, a fresh exec: sysctl permissions looked up before then stay
    # those of an unmapped user
    limit_and_drop = (f"echo {max_user_namespaces} > /proc/sys/user/max_user_namespaces && "
                      "exec setpriv --reuid=65534 --regid=65534 --clear-groups "
                      "env -i PATH=/usr/bin:/bin HOME=/tmp /usr/bin/python3 -I -c \"$0\"")
    child = subprocess.Popen(["unshare", "--user", "--", "sh", "-c", 'read go && exec "$@"', "sh",
                              "sh", "-c", limit_and_drop, script],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd="/tmp")
    try:
        ours = os.readlink("/proc/self/ns/user")
        deadline = time.monotonic() + 10
        while os.readlink(f"/proc/{child.pid}/ns/user") == ours:
            assert time.monotonic() < deadline, "unshare made no user namespace"
            time.sleep(0.01)
        for name in ("uid_map", "gid_map"):  # ids 0-65535 are themselves inside
            with open(f"/proc/{child.pid}/{name}", "w") as f:
                f.write("0 0 65536\n")
        stdout, stderr = child.communicate("go\n", timeout=120)
    finally:
        child.kill()
    proc = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@needs_sandbox
def test_an_unprivileged_instructor_gets_a_working_sandbox(tmp_path):
    assert run_unprivileged(tmp_path, 15000) == "WORKS"


@needs_sandbox
def test_a_host_without_user_namespaces_is_named_with_its_fix(tmp_path):
    out = run_unprivileged(tmp_path, 0)
    assert out.startswith("REFUSED:"), out
    assert "user.max_user_namespaces = 0" in out and "sysctl -w user.max_user_namespaces" in out


@pytest.mark.slow
def test_autograde_refuses_at_start_and_grades_nobody(tmp_path):
    """Without a working sandbox, `nbgrader autograde` stops before the first student:
    one message with the reason, no autograded folder, no grade in the gradebook."""
    course = build_course(tmp_path / "course", students={"ann": CORRECT, "bob": WRONG_SCALE})
    no_bwrap = tmp_path / "bin"  # a PATH with the environment's commands but no bwrap
    no_bwrap.mkdir()
    for command in set(os.listdir(os.path.dirname(sys.executable))) - {"bwrap"}:
        (no_bwrap / command).symlink_to(os.path.join(os.path.dirname(sys.executable), command))
    env = {k: v for k, v in os.environ.items() if k != status.OPT_OUT_VARIABLE}
    env["PATH"] = str(no_bwrap)
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", "ps1"], cwd=course,
                          env=env, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert output.count("Refusing to autograde") == 1, output
    assert "bubblewrap (bwrap) is not installed" in output
    assert not (course / "autograded").exists() or not any((course / "autograded").iterdir())
    assert all(score == 0 for score in scores(f"sqlite:///{course / 'gradebook.db'}").values())
    env["PATH"] = os.pathsep.join([str(no_bwrap), os.path.dirname(shutil.which("bwrap") or "/usr/bin")])
    with_the_sandbox = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", "ps1"],
                                      cwd=course, env=env, capture_output=True, text=True, timeout=600)
    if works:  # the same course grades normally once the sandbox is there
        assert with_the_sandbox.returncode == 0, with_the_sandbox.stderr
        assert sorted(os.listdir(course / "autograded")) == ["ann", "bob"]


def test_configure_sandbox_installs_the_refusal_hook():
    from traitlets.config import Config
    c = Config()
    config.configure_sandbox(c)
    hook = c.Autograde.pre_convert_hook
    assert hook.func is status.refuse_unless_sandboxed and hook.args == (c,)
    c.FaultTolerantExecute.sandbox = False
    assert hook(assignment="ps1", student="ann", notebooks=[]) is None


def test_refusal_hook_stops_the_run(monkeypatch):
    from traitlets.config import Config
    monkeypatch.setattr(status, "sandbox_status", lambda: (False, "bubblewrap exploded"))
    monkeypatch.delenv(status.OPT_OUT_VARIABLE, raising=False)
    c = Config()
    with pytest.raises(SystemExit, match="Refusing to autograde.*bubblewrap exploded"):
        status.refuse_unless_sandboxed(c, assignment="ps1", student="ann", notebooks=[])
    c.FaultTolerantExecute.allow_unsandboxed = True
    assert status.refuse_unless_sandboxed(c, assignment="ps1", student="ann", notebooks=[]) is None


KERNEL_PROBE = """
from nbclient import NotebookClient
import nbformat
from grading.sandbox.kernel import KERNEL_NAME, SandboxKernelManager

nb = nbformat.v4.new_notebook()
nb.cells = [nbformat.v4.new_code_cell("import sys, numpy\\nprint(sys.prefix)")]
NotebookClient(nb, kernel_manager_class=SandboxKernelManager, kernel_name=KERNEL_NAME,
               timeout=60, resources={{"metadata": {{"path": {work!r}}}}}).execute()
print("KERNEL PREFIX", nb.cells[0].outputs[0]["text"].strip())
"""

KERNEL_PACKAGES = ["ipykernel", "nbclient", "nbformat", "numpy"]


def make_environment(layout, where):
    """Create a Python environment of ``layout`` at ``where`` with what a grading kernel
    needs, the course included (as ``pip install -e .`` would: a .pth file naming the
    repository); return its python. Skips when the tool for the layout is not installed.

    Packages go in with uv (seconds, from its cache) where it is installed, else pip."""
    base = os.path.realpath(sys.executable)
    uv = shutil.which("uv") or os.path.join(os.path.dirname(sys.executable), "uv")
    uv = uv if os.path.exists(uv) else None
    if layout in ("venv", "venv --copies"):
        subprocess.run([base, "-m", "venv", "--without-pip", *layout.split()[1:], str(where)],
                       check=True)
    elif layout == "virtualenv":
        pytest.importorskip("virtualenv", reason="virtualenv is not installed")
        subprocess.run([sys.executable, "-m", "virtualenv", "-q", "--no-seed", "-p", base,
                        str(where)], check=True)
    elif layout == "uv venv":
        if uv is None:
            pytest.skip("uv is not installed")
        subprocess.run([uv, "venv", "-q", "-p", base, str(where)], check=True)
    python = where / "bin" / "python"
    if uv is not None:
        install = [uv, "pip", "install", "-q", "--python", str(python)]
    else:
        subprocess.run([str(python), "-m", "ensurepip"], check=True, capture_output=True)
        install = [str(python), "-m", "pip", "install", "-q"]
    subprocess.run(install + KERNEL_PACKAGES, check=True, timeout=600)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "nndl-course.pth").write_text(str(REPO) + "\n")
    return python


@needs_sandbox
@pytest.mark.slow
@pytest.mark.parametrize("layout", ["venv", "venv --copies", "virtualenv", "uv venv"])
def test_kernel_starts_in_each_kind_of_environment(tmp_path, layout):
    """The grading kernel runs in the environment of the process that starts it, for each
    common way of making one (the issue of a venv's python that resolves to the base)."""
    env = tmp_path / "env"
    python = make_environment(layout, env)
    work = tmp_path / "alice" / "hw5"
    work.mkdir(parents=True)
    probe = subprocess.run([str(python), "-c", KERNEL_PROBE.format(work=str(work))],
                           capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert probe.returncode == 0, probe.stderr[-2000:]
    assert f"KERNEL PREFIX {os.path.realpath(env)}" in probe.stdout
