"""Distributed autograding (python -m grading.classroom.distributed) on a real dask cluster.

A scheduler and two workers run as separate processes on 127.0.0.1 (``dask scheduler``,
``dask worker``), the gradebook is a real PostgreSQL server started for the test
(tests/adversarial/postgres.py), and the course is the toy course of
tests/adversarial/toy_course.py with 20 submissions. The grades must be exactly those of
the stock, serial ``nbgrader autograde ps1``, once each, with a shared filesystem
(detected) and without one (course files shipped to the workers), also when a worker is
killed in the middle of the run.
"""
import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adversarial.postgres import throwaway_postgres, unavailable_reason
from adversarial.toy_course import (CORRECT, SUBMISSIONS, WRONG_SCALE, build_course, grade_rows,
                                   scores)
from adversarial.toy_course import serial_scores as toy_serial_scores
from grading.classroom import distributed
from grading.sandbox.status import sandbox_status

works, reason = sandbox_status()
needs_sandbox = pytest.mark.skipif(not works, reason=f"sandbox unavailable: {reason}")
needs_postgres = pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))

KINDS = [CORRECT, WRONG_SCALE, SUBMISSIONS["exit"], SUBMISSIONS["syntax"], SUBMISSIONS["patch"]]
STUDENTS = {f"s{i:02d}": KINDS[i % len(KINDS)] for i in range(20)}
POINTS = {CORRECT: 6, WRONG_SCALE: 3, SUBMISSIONS["exit"]: 3, SUBMISSIONS["syntax"]: 0,
          SUBMISSIONS["patch"]: 3}
EXPECTED = {s: POINTS[code] for s, code in STUDENTS.items()}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A dask scheduler and workers, each a process (and session) of its own on 127.0.0.1."""

    def __init__(self, scratch):
        self.scratch, self.port = Path(scratch), _free_port()
        self.scratch.mkdir()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.workers = {}
        self.scheduler = self._start("scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                                     "--no-dashboard")

    def _start(self, name, *args):
        """``dask scheduler ARGS`` for the scheduler, ``dask worker ARGS`` otherwise."""
        command = "scheduler" if name == "scheduler" else "worker"
        with open(self.scratch / f"{name}.log", "w") as log:
            return subprocess.Popen([sys.executable, "-m", "dask", command, *args], stdout=log,
                                    stderr=subprocess.STDOUT, cwd=self.scratch,
                                    start_new_session=True)

    def add_worker(self, name):
        directory = self.scratch / name
        directory.mkdir()
        self.workers[name] = (self._start(name, self.address, "--name", name, "--nthreads", "1",
                                          "--no-nanny", "--no-dashboard",
                                          "--local-directory", str(directory)), directory)

    def wait(self, workers, timeout=120):
        from distributed import Client
        with Client(self.address, timeout=timeout) as client:
            client.wait_for_workers(workers, timeout=timeout)

    def kill(self, name, timeout=30):
        """Kill the worker process ``name`` (SIGKILL); return once the processes it started
        (its nbgrader processes) are gone too, or raise AssertionError after ``timeout``."""
        proc = self.workers[name][0]
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + timeout
        while True:
            try:
                os.killpg(proc.pid, 0)  # anything left of its process group?
            except ProcessLookupError:
                return
            assert time.monotonic() < deadline, f"processes of worker {name} outlived it"
            time.sleep(0.2)

    def stop(self):
        for proc in [self.scheduler] + [w for w, _ in self.workers.values()]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in [self.scheduler] + [w for w, _ in self.workers.values()]:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # what it started, if it outlived it


@pytest.fixture
def cluster(tmp_path):
    cluster = Cluster(tmp_path / "cluster")
    try:
        cluster.add_worker("w1")
        cluster.add_worker("w2")
        cluster.wait(2)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def serial_scores(tmp_path_factory):
    """The grades of the stock, serial ``nbgrader autograde ps1`` of STUDENTS."""
    graded = toy_serial_scores(tmp_path_factory.mktemp("serial") / "course", STUDENTS)
    assert graded == pytest.approx(EXPECTED)
    return graded


@pytest.fixture
def postgres():
    with throwaway_postgres() as db_url:
        yield db_url




def assert_once_each(db_url, students):
    rows = grade_rows(db_url)
    assert len(rows) == len(set(rows)) == 3 * len(students)  # nothing lost, nothing twice


def assert_results_back(course, students):
    for student in students:
        assert (course / "autograded" / student / "ps1" / "ps1.ipynb").is_file(), student
        assert (course / "feedback" / student / "ps1" / "ps1.html").is_file(), student


def run_distributed(course, *args, timeout=900):
    return subprocess.run([sys.executable, "-m", "grading.classroom.distributed", "ps1", *args], cwd=course,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
@needs_sandbox
@needs_postgres
def test_shared_filesystem_serial_grades_reruns_and_a_grading_error(tmp_path, cluster, postgres,
                                                                    serial_scores):
    from distributed import Client
    course = build_course(tmp_path / "course", {**STUDENTS, "renamed": CORRECT}, db_url=postgres)
    submitted = course / "submitted" / "renamed" / "ps1"
    (submitted / "ps1.ipynb").rename(submitted / "my ps1.ipynb")  # nbgrader cannot grade it
    with Client(cluster.address) as client:
        summary = distributed.autograde_distributed("ps1", client, course_dir=str(course),
                                                    batch_size=3, progress=False)
    assert summary["shared_fs"] is True  # the workers run on this machine: detected
    assert summary["graded"] == sorted(STUDENTS) and list(summary["failed"]) == ["renamed"]
    assert "No notebooks found" in summary["failed"]["renamed"]  # nbgrader's reason, reported
    # graded once more on its own, then reported
    assert sum("renamed" in run["students"] for run in summary["runs"]) == 2
    assert len({run["worker"] for run in summary["runs"]}) == 2  # both workers took tasks
    graded = scores(postgres)
    assert graded.pop("renamed") == 0  # its submission row, without notebooks
    assert graded == serial_scores
    assert_once_each(postgres, [*STUDENTS, "renamed"])  # its rows too, score 0
    assert_results_back(course, STUDENTS)

    # a rerun grades nothing that is unchanged; a changed submission is graded again
    shutil.rmtree(course / "submitted" / "renamed")
    again = run_distributed(course, "--scheduler", cluster.address)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-3000:]
    assert "20 submissions: 0 graded, 20 unchanged, 0 failed" in again.stdout
    (course / "submitted" / "s01" / "ps1" / "mymod.py").write_text(CORRECT)  # was WRONG_SCALE
    fixed = run_distributed(course, "--scheduler", cluster.address)
    assert fixed.returncode == 0, fixed.stdout[-2000:] + fixed.stderr[-3000:]
    assert "20 submissions: 1 graded, 19 unchanged, 0 failed" in fixed.stdout
    assert scores(postgres) == {**serial_scores, "s01": 6, "renamed": 0}
    assert_once_each(postgres, [*STUDENTS, "renamed"])


@pytest.mark.slow
@needs_sandbox
@needs_postgres
def test_no_shared_filesystem_and_a_worker_killed_mid_run(tmp_path, cluster, postgres,
                                                          serial_scores):
    course = build_course(tmp_path / "course", STUDENTS, db_url=postgres)
    grading = subprocess.Popen(
        [sys.executable, "-m", "grading.classroom.distributed", "ps1", "--scheduler", cluster.address,
         "--shared-fs", "no", "--batch-size", "2"],
        cwd=course, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # wait until w1 grades a batch in its own course folder, then kill it with that batch
    victim = cluster.workers["w1"][1]
    deadline = time.monotonic() + 300
    while not glob.glob(str(victim / "**" / "autograde-ps1-*" / "course" / "submitted" / "*"),
                        recursive=True):
        assert grading.poll() is None and time.monotonic() < deadline, "w1 got no task"
        time.sleep(0.2)
    time.sleep(1.0)  # nbgrader has started on it
    cluster.kill("w1")  # the worker process alone: its nbgrader process must die with it
    out, err = grading.communicate(timeout=900)
    assert grading.returncode == 0, out[-2000:] + err[-3000:]
    assert "20 submissions: 20 graded, 0 unchanged, 0 failed" in out
    assert "no shared filesystem" in out
    # the course files reached the workers as a tarball, unpacked once per worker
    assert len(glob.glob(str(cluster.workers["w2"][1] / "**" / "nbgrader-course-*"),
                         recursive=True)) == 1
    assert scores(postgres) == serial_scores
    assert_once_each(postgres, STUDENTS)
    assert_results_back(course, STUDENTS)


def test_sqlite_gradebook_needs_a_shared_filesystem(tmp_path):
    course = tmp_path / "course"
    (course / "source" / "ps1").mkdir(parents=True)
    (course / "submitted" / "alice" / "ps1").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text("c = get_config()\n")
    with pytest.raises(ValueError, match="SQLite file, which workers without a shared filesystem"):
        distributed.autograde_distributed("ps1", None, course_dir=str(course), shared_fs="no")
    with pytest.raises(ValueError, match=r"no submission of 'ps1'"):
        distributed.autograde_distributed("ps1", None, ["bob"], course_dir=str(course),
                                          shared_fs="no")
    with pytest.raises(FileNotFoundError, match="no source/ps2"):
        (course / "submitted" / "alice" / "ps2").mkdir()
        distributed.autograde_distributed("ps2", None, course_dir=str(course), shared_fs="no")


def test_course_files_packed_and_submissions_hashed(tmp_path):
    root = tmp_path / "course"
    (root / "source" / "ps1").mkdir(parents=True)
    (root / "source" / "ps1" / "ps1.ipynb").write_text("{}")
    (root / "source" / "ps1" / "helper.py").symlink_to("../../mypkg/__init__.py")  # as in hw5
    (root / "source" / "ps2").mkdir()
    (root / "mypkg" / "__pycache__").mkdir(parents=True)
    (root / "mypkg" / "__init__.py").write_text("")
    (root / "mypkg" / "__pycache__" / "x.pyc").write_text("")
    (root / "notes").mkdir()
    (root / "nbgrader_config.py").write_text("c = get_config()\n")
    files = distributed.course_files(str(root), "ps1")
    assert files == ["nbgrader_config.py", os.path.join("source", "ps1"), "mypkg"]
    dest = tmp_path / "worker"
    distributed.unpack(distributed.pack(str(root), files, dereference=True), str(dest))
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*")) == [
        "mypkg", "mypkg/__init__.py", "nbgrader_config.py", "source", "source/ps1",
        "source/ps1/helper.py", "source/ps1/ps1.ipynb"]
    assert not (dest / "source" / "ps1" / "helper.py").is_symlink()  # the file, not a dangling link

    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "a.py").write_text("x = 1\n")
    (sub / "link").symlink_to("../../source/ps1/ps1.ipynb")
    first = distributed.submission_hash(str(sub))
    assert distributed.submission_hash(str(sub)) == first
    (sub / "a.py").write_text("x = 2\n")
    assert distributed.submission_hash(str(sub)) != first
    (sub / "a.py").write_text("x = 1\n")
    (sub / "link").unlink()
    (sub / "link").symlink_to("elsewhere")
    assert distributed.submission_hash(str(sub)) != first
    # a link travels as a link (nbgrader's DropSubmittedLinks deletes it on the worker)
    back = tmp_path / "back"
    distributed.unpack(distributed.pack(str(tmp_path), ["sub"]), str(back))
    assert os.readlink(back / "sub" / "link") == "elsewhere"


def test_a_worker_sees_the_course_only_through_a_shared_filesystem(tmp_path):
    marker = tmp_path / "probe"
    marker.write_text("token")
    assert distributed.sees_file(str(marker), "token")
    assert not distributed.sees_file(str(marker), "other")
    assert not distributed.sees_file(str(tmp_path / "absent"), "token")
