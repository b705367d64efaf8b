"""The sandboxed grading kernel: what student code can and cannot reach, and the limits.

Each test runs a few cells in the kernel nbgrader uses for autograding
(grading.sandbox.kernel.SandboxKernelManager) on a folder standing for one student's
autograded submission, next to files standing for the rest of the course.
"""
import errno
import json
import os
import socket

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from traitlets.config import Config

from grading.sandbox import config, launch, status
from grading.sandbox.guard import Snapshot
from grading.sandbox.kernel import KERNEL_NAME, SandboxKernelManager
from grading.sandbox.policy import Policy

works, reason = status.sandbox_status()
needs_sandbox = pytest.mark.skipif(not works, reason=f"sandbox unavailable: {reason}")


def run_cells(workdir, *sources, **limits):
    """Run ``sources`` as cells in the sandboxed kernel with cwd ``workdir``.

    Returns, per cell, its stdout text, or ``"ERROR name: value"`` if it raised.
    """
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]

    client = NotebookClient(nb, kernel_manager_class=SandboxKernelManager, kernel_name=KERNEL_NAME,
                            allow_errors=True, timeout=60,
                            config=Config({"SandboxKernelManager": limits}),
                            resources={"metadata": {"path": str(workdir)}})
    client.execute()
    results = []
    for cell in nb.cells:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        text = "".join(o.get("text", "") for o in cell.outputs
                       if o.output_type == "stream" and o.name == "stdout")
        results.append(f"ERROR {errors[0].ename}: {errors[0].evalue}" if errors else text.strip())
    return results


@pytest.fixture
def course(tmp_path):
    """A course-like tree: gradebook, hidden source, another student, one submission."""
    root = tmp_path / "course"
    (root / "source" / "hw5").mkdir(parents=True)
    (root / "source" / "hw5" / "hw5.ipynb").write_text("HIDDEN TESTS")
    (root / "gradebook.db").write_text("GRADES")
    other = root / "autograded" / "bob" / "hw5"
    other.mkdir(parents=True)
    (other / "answer.py").write_text("BOB'S WORK")
    mine = root / "autograded" / "alice" / "hw5"
    mine.mkdir(parents=True)
    (mine / "hw5.ipynb").write_text('{"hidden": "tests"}')
    (mine / "helper.py").write_text("VALUE = 42\n")
    return root


@needs_sandbox
def test_self_test_reports_an_isolated_unprivileged_kernel():
    report = launch.self_test()
    assert report["uid"] != 0
    assert report["interfaces"] == ["lo"]
    assert not report["instructor_files_visible"]
    assert report["workdir_writable"]
    assert report["limits"] == {name: getattr(Policy(), name) for name in Policy.rlimits()}


@needs_sandbox
def test_kernel_sees_only_its_own_submission(course):
    mine = course / "autograded" / "alice" / "hw5"
    site_dirs = [r for r in launch.python_roots() if "-packages" in r]
    hooks = launch.editable_hooks(site_dirs)  # e.g. pip install -e . of the course
    out = run_cells(
        mine,
        "import os; print(os.getcwd())",
        "import helper; print(helper.VALUE)",
        f"print(os.path.exists({str(course / 'gradebook.db')!r}), "
        f"os.path.exists({str(course / 'source')!r}), "
        f"os.path.exists({str(course / 'autograded' / 'bob')!r}))",
        "print(repr(open('hw5.ipynb').read()))",
        "import grading",
        "import nndl",
        "import os; print(os.getuid())",
        f"print([open(p).read() for p in {hooks!r}])",
    )
    assert out[0] == str(mine)
    assert out[1] == "42"
    assert out[2] == "False False False"
    assert out[3] == "''"  # the notebook with the hidden tests is masked
    assert out[4].startswith("ERROR ModuleNotFoundError")  # the instructor's packages
    assert out[5].startswith("ERROR ModuleNotFoundError")
    assert int(out[6]) != 0
    assert out[7] == repr([""] * len(hooks))  # editable-install hooks read as empty


@needs_sandbox
def test_only_the_submission_and_private_tmp_are_writable(course):
    mine = course / "autograded" / "alice" / "hw5"
    out = run_cells(
        mine,
        "open('result.txt', 'w').write('mine'); print('ok')",
        "import os\nfor path in ['/usr/evil', os.path.dirname(os.__file__) + '/evil.py',"
        " '/etc/evil', '/evil']:\n"
        "    try:\n        open(path, 'w')\n        print('WROTE', path)\n"
        "    except OSError as err:\n        print(type(err).__name__)",
        "open('/tmp/scratch', 'w').write('x'); print(os.listdir('/tmp'))",
    )
    assert out[0] == "ok"
    assert "WROTE" not in out[1] and out[1].count("Error") == 4
    assert "scratch" in out[2]
    assert (mine / "result.txt").read_text() == "mine"
    assert not (course / "tmp").exists()
    if os.geteuid() == 0:  # the sandbox uid gave the folder back to its owner
        assert {p.stat().st_uid for p in [mine, *mine.iterdir()]} == {mine.stat().st_uid}
        assert (mine / "result.txt").stat().st_uid == course.stat().st_uid


@needs_sandbox
def test_no_network_not_even_the_hosts_loopback(course):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    try:
        out = run_cells(
            course / "autograded" / "alice" / "hw5",
            "import socket, errno\n"
            "def attempt(host, port):\n"
            "    s = socket.socket(); s.settimeout(2)\n"
            "    try:\n        s.connect((host, port)); return 'CONNECTED'\n"
            "    except OSError as err:\n        return errno.errorcode[err.errno]\n"
            f"print(attempt('127.0.0.1', {port}))",
            "print(attempt('192.0.2.1', 80))",  # TEST-NET-1: never routed, nothing is sent
            "print(sorted(n for _, n in socket.if_nameindex()))",
        )
        with pytest.raises(socket.timeout):
            listener.accept()  # nothing reached the host's listener
    finally:
        listener.close()
    assert out[0] == "ECONNREFUSED"
    assert out[1] == "ENETUNREACH"
    assert out[2] == "['lo']"


@needs_sandbox
def test_limits_are_applied(course):
    out = run_cells(
        course / "autograded" / "alice" / "hw5",
        "import resource\nprint([resource.getrlimit(r)[0] for r in (resource.RLIMIT_AS, "
        "resource.RLIMIT_CPU, resource.RLIMIT_NPROC)])",
        "import numpy as np\nx = np.ones(2**28)",  # 2 GiB, over the 1 GiB limit below
        "import os\npids = []\ntry:\n    for _ in range(200):\n        pid = os.fork()\n"
        "        if pid == 0:\n            import time; time.sleep(2); os._exit(0)\n"
        "        pids.append(pid)\nexcept OSError as err:\n    print(len(pids), err.errno)\n"
        "for pid in pids:\n    os.waitpid(pid, 0)",
        "print('still alive')",
        memory_limit=2**30, cpu_time_limit=100, process_limit=32,
    )
    assert json.loads(out[0]) == [2**30, 100, 32]
    assert out[1].startswith("ERROR MemoryError")
    forked, err = map(int, out[2].split())
    assert forked < 32 and err == errno.EAGAIN
    assert out[3] == "still alive"


@needs_sandbox
def test_guard_restores_numpy_inside_the_kernel(course):
    out = run_cells(
        course / "autograded" / "alice" / "hw5",
        "import numpy as np\nnp.allclose = lambda *a, **k: True",
        "print(np.allclose(1, 2))",
    )
    assert out[1] == "False"


def test_snapshot_restores_replaced_and_rewritten_functions():
    snapshot = Snapshot(["numpy"])
    original = np.allclose
    implementation = np.isclose._implementation
    code = implementation.__code__
    try:
        np.allclose = lambda *a, **k: True
        implementation.__code__ = (lambda *a, **k: True).__code__
        changed = snapshot.restore()
    finally:
        np.allclose = original
        implementation.__code__ = code
    assert "numpy.allclose" in changed
    assert any("isclose" in name and "(code)" in name for name in changed)
    assert np.allclose is original and implementation.__code__ is code
    assert snapshot.restore() == []


@needs_sandbox
def test_data_folders_are_shared_read_only(course, tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)  # readable by all, as data folders are
    (data / "test_batch").write_text("IMAGES")
    monkeypatch.setenv("COURSE_DATA", str(data))
    out = run_cells(
        course / "autograded" / "alice" / "hw5",
        "import os\nprint(open(os.path.join(os.environ['COURSE_DATA'], 'test_batch')).read())",
        "open(os.path.join(os.environ['COURSE_DATA'], 'x'), 'w')",
        data_env_vars=["COURSE_DATA"],
    )
    assert out[0] == "IMAGES"
    assert out[1].startswith("ERROR OSError") and not (data / "x").exists()


def test_data_the_sandbox_user_cannot_read_is_refused_with_the_fix(tmp_path, monkeypatch):
    data = tmp_path / "private"
    data.mkdir()
    data.chmod(0o700)
    policy = Policy(data_env_vars=["COURSE_DATA"])
    monkeypatch.setenv("COURSE_DATA", str(data))
    with pytest.raises(launch.SandboxError, match="chmod -R o"):
        launch.readonly_data_paths(policy, tmp_path / "work", privileged=True)
    assert launch.readonly_data_paths(policy, tmp_path / "work") == [str(data)]


def test_sharing_a_folder_that_holds_the_submission_is_refused(course, monkeypatch):
    policy = Policy(data_env_vars=["COURSE_DATA"])
    monkeypatch.setenv("COURSE_DATA", str(course))
    with pytest.raises(launch.SandboxError, match="holds the submission"):
        launch.readonly_data_paths(policy, course / "autograded" / "alice" / "hw5")


def test_installed_copies_of_the_course_packages_are_hidden(tmp_path):
    site = tmp_path / "site-packages"
    for name in ("nndl", "grading", "numpy"):
        (site / name).mkdir(parents=True)
    (site / "utils.py").write_text("")
    hidden = launch.installed_copies([str(site)])
    assert sorted(os.path.basename(p) for p in hidden) == ["grading", "nndl", "utils.py"]


def test_launcher_refuses_tcp_and_the_course_root(tmp_path):
    conn = tmp_path / "kernel.json"
    conn.write_text(json.dumps({"transport": "tcp", "ip": "127.0.0.1"}))
    with pytest.raises(launch.SandboxError, match="unix sockets"):
        launch.run(str(conn), [])
    (tmp_path / "gradebook.db").write_text("")
    with pytest.raises(launch.SandboxError, match="course root"):
        launch.refuse_workdir(str(tmp_path))


def test_autograding_refuses_without_a_sandbox(monkeypatch):
    monkeypatch.setattr(launch, "BWRAP", "bwrap-not-installed")
    monkeypatch.delenv(status.OPT_OUT_VARIABLE, raising=False)
    status.sandbox_status.cache_clear()
    try:
        with pytest.raises(status.SandboxUnavailable, match="apt-get install bubblewrap"):
            status.require_sandbox()
        monkeypatch.setenv(status.OPT_OUT_VARIABLE, "1")
        assert status.require_sandbox() is False
        assert status.require_sandbox(allow_unsandboxed=True) is False
    finally:
        status.sandbox_status.cache_clear()


def test_configure_sandbox_swaps_only_execute_and_overwritecells():
    from nbgrader.preprocessors import Execute, LimitOutput, OverwriteCells, SaveAutoGrades
    from traitlets.config import Config
    from grading.sandbox.faults import FaultTolerantExecute, RestoreDeletedTests
    from grading.sandbox.links import DropSubmittedLinks

    c = Config()
    c.Autograde.autograde_preprocessors = [Execute, LimitOutput, SaveAutoGrades]
    config.configure_sandbox(c, cell_timeout=30, memory_limit=2**31)
    assert c.Autograde.autograde_preprocessors == [FaultTolerantExecute, LimitOutput, SaveAutoGrades]
    assert OverwriteCells not in c.Autograde.sanitize_preprocessors
    assert RestoreDeletedTests in c.Autograde.sanitize_preprocessors
    assert c.Autograde.sanitize_preprocessors[0] is DropSubmittedLinks
    assert c.OverwriteCells.add_missing_cells is True
    assert c.Execute.timeout == 30 and c.SandboxKernelManager.memory_limit == 2**31
    with pytest.raises(ValueError, match="unknown sandbox settings"):
        config.configure_sandbox(Config(), memory=1)


def execute_tolerantly(workdir, *sources, **traits):
    """Run ``sources`` through FaultTolerantExecute; return (ename or stdout) per cell."""
    from grading.sandbox.faults import FaultTolerantExecute
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    executor = FaultTolerantExecute(config=Config({"FaultTolerantExecute": traits}))
    nb, _ = executor.preprocess(nb, {"metadata": {"path": str(workdir)}})
    results = []
    for cell in nb.cells:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        results.append((errors[-1].ename, errors[-1].evalue) if errors else
                       "".join(o.get("text", "") for o in cell.outputs).strip())
    return results


@needs_sandbox
def test_a_dead_kernel_is_replaced_and_earlier_state_restored(course):
    out = execute_tolerantly(course / "autograded" / "alice" / "hw5",
                             "x = 41", "import os\nos._exit(1)", "print(x + 1)")
    assert out[0] == ""
    assert out[1][0] == "KernelDied" and "status 1" in out[1][1] and "fresh kernel" in out[1][1]
    assert out[2] == "42"  # the first cell was re-run in the fresh kernel


@needs_sandbox
def test_after_too_many_faults_the_rest_is_not_run(course):
    out = execute_tolerantly(course / "autograded" / "alice" / "hw5",
                             "import os\nos._exit(1)", "print('after')", "print('again')",
                             max_kernel_restarts=0)
    assert out[0][0] == "KernelDied" and "were not run" in out[0][1]
    assert [o[0] for o in out[1:]] == ["NotRun", "NotRun"]


@needs_sandbox
def test_notebook_time_limit_marks_the_rest_not_run(course):
    out = execute_tolerantly(course / "autograded" / "alice" / "hw5",
                             "import time\ntime.sleep(1.5)", "print('late')", notebook_timeout=1)
    assert out[0] == ""
    assert out[1][0] == "NotRun" and "time limit" in out[1][1]


def test_one_policy_definition_gives_the_traits_the_file_and_the_flags(tmp_path):
    """Policy's fields are the kernel manager's traits, the policy file's keys and (for the
    rlimits) the flags entry.py parses, under one name each."""
    import argparse
    assert set(SandboxKernelManager.class_own_traits(config=True)) == set(Policy.names())
    traits = {"memory_limit": 2**30, "cpu_time_limit": 77, "guarded_modules": ["utils.checks"]}
    policy = SandboxKernelManager(config=Config({"SandboxKernelManager": traits})).policy()
    assert (policy.memory_limit, policy.cpu_time_limit, policy.guarded_modules) == (
        2**30, 77, ("utils.checks",))
    assert policy.process_limit == Policy().process_limit
    policy.save(tmp_path / "policy.json")
    assert Policy.load(tmp_path / "policy.json") == policy
    parser = argparse.ArgumentParser()
    Policy.add_limit_arguments(parser)
    parsed = vars(parser.parse_args(policy.limit_arguments()))
    assert parsed == {name: getattr(policy, name) for name in Policy.rlimits()}
    cmd = launch.bwrap_command(str(tmp_path), str(tmp_path), policy, [], privileged=False)
    assert cmd[cmd.index("--memory-limit") + 1] == str(2**30)
    assert cmd[cmd.index("--cpu-time-limit") + 1] == "77"


def test_a_wrong_sandbox_setting_is_refused_with_the_known_names(tmp_path):
    with pytest.raises(ValueError, match="unknown sandbox settings \\['memory_bytes'\\].*memory_limit"):
        Policy.from_mapping({"memory_bytes": 1})
    with pytest.raises(ValueError, match="memory_limit must be a positive integer"):
        config.configure_sandbox(Config(), memory_limit="4G")
    with pytest.raises(ValueError, match="guarded_modules must be a list of strings"):
        config.configure_sandbox(Config(), guarded_modules="utils.checks")
    (tmp_path / "sandbox-policy.json").write_text('{"cpu_seconds": 5}')
    with pytest.raises(ValueError, match="unknown sandbox settings"):
        launch.load_policy(str(tmp_path / "kernel.json"))
