"""Adversarial hw5 submissions: each gets a grade, gains nothing and disturbs nobody.

One course (module fixture) built like ``python -m grading.classroom.demo`` with this repository's
nbgrader_config.py (cell timeout lowered to 15 s) receives the honest samples
``complete`` and ``empty`` plus the attacks of tests/adversarial/hw5_attacks.py: a hang,
a hang that ignores the interrupt, memory exhaustion, ``os._exit``, a segfault, a syntax
error, deleted test cells, ``np.allclose``/``utils.checks`` patched at import and per
call, and a snooper that looks for the hidden tests, the gradebook, other students' work
and the instructor's solution (also through submitted symbolic links), tries to write
to them, to reach the network and to fork without bound; and the ways to points without
the work (issue #13): delegation to the provided layers (direct, importlib, sys.modules
captured at import), the hidden references looked up in ``__main__``, frames or ``gc``,
numpy replaced at import time, and a model whose loss looks the held-out labels up. Each
of those scores no more than the untouched release in the cells it targets, and the
instructor's integrity report names it. Everything is graded with
``python -m grading.classroom.parallel hw5 --workers 2``, with the full CIFAR-10 as held-out data
when the fixture full_cifar10_dir finds it. Slow: about five minutes on 2 idle cores.
"""
import hashlib
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grading.classroom import demo

from adversarial.hw5_attacks import (ATTACKS, TARGETS, make_attack, read_label_report,
                                     read_report)
from grading.sandbox.judge import read_reports
from grading.sandbox.status import sandbox_status

works, reason = sandbox_status()
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not works, reason=f"sandbox unavailable: {reason}")]

REPO_ROOT = Path(__file__).resolve().parent.parent
NOT_COMPARED = {"test_cifar10_model"}  # depends on the data available here, not on the attack


def tree_digest(folder):
    """sha256 over the relative paths and contents of every file below ``folder``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, full_cifar10_dir):
    from grading.classroom import demo
    from grading.classroom.samples import make_sample

    course = demo.prepare_course(tmp_path_factory.mktemp("adversarial") / "course")
    with open(course / "nbgrader_config.py", "a") as f:
        f.write("\nc.Execute.timeout = 15  # the hanging attacks cost 15 s, not 60\n")
    env, _, full_data = demo.grading_env(full_cifar10_dir)
    demo.nbgrader(course, "generate_assignment", "hw5", "--force", env=env)
    release = course / "release" / "hw5"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    for student in ("complete", "empty"):
        make_sample(student, release, course / "submitted" / student / "hw5")
    for student in ATTACKS:
        make_attack(student, release, course / "submitted" / student / "hw5", course, REPO_ROOT, port)
    before = {"complete": tree_digest(course / "submitted" / "complete")}
    run = subprocess.run([sys.executable, "-m", "grading.classroom.parallel", "hw5", "--workers", "2"],
                         cwd=course, env=env, capture_output=True, text=True, timeout=1800)
    listener.settimeout(0.2)
    reached = []
    try:
        while True:
            reached.append(listener.accept())
    except socket.timeout:
        pass
    finally:
        listener.close()
    scores = demo.cell_scores(course, ["complete", "empty", *ATTACKS])
    yield {"course": course, "run": run, "scores": scores, "before": before, "reached": reached,
           "full_data": full_data, "env": env}


def autograded(scores, student):
    """{grade_id: score} of the student's autograded cells (written answers left out)."""
    return {g: s for g, (s, _) in scores[student].items()
            if s is not None and g not in NOT_COMPARED}


def errors(course, student):
    """{grade_id or cell index: [(ename, evalue)]} of the error outputs of every notebook."""
    found = {}
    for path in sorted((course / "autograded" / student / "hw5").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for index, cell in enumerate(nb.cells):
            key = cell.metadata.get("nbgrader", {}).get("grade_id", f"{path.stem}[{index}]")
            for out in cell.get("outputs", []):
                if out.output_type == "error":
                    found.setdefault(key, []).append((out.ename, out.evalue))
    return found


def test_every_submission_gets_a_complete_grade(graded):
    run = graded["run"]
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"{len(ATTACKS) + 2} submissions, 2 workers" in run.stdout
    assert "0 nbgrader failures, 0 without a complete grade" in run.stdout


def test_honest_students_are_undisturbed(graded):
    complete = graded["scores"]["complete"]
    assert all(score == maximum for g, (score, maximum) in complete.items()
               if score is not None and g not in NOT_COMPARED)
    assert set(autograded(graded["scores"], "empty").values()) == {0}


@pytest.mark.parametrize("student, ename", [
    ("hang", "CellTimeoutError"), ("deaf", "CellTimeoutError"), ("oom", "MemoryError"),
    ("exit", "KernelDied"), ("segfault", "KernelDied")])
def test_a_fault_costs_only_the_cells_it_broke(graded, student, ename):
    faulted = {key for key, errs in errors(graded["course"], student).items()
               if any(e == ename for e, _ in errs)}
    assert faulted, f"{student}: no {ename} recorded"
    got = autograded(graded["scores"], student)
    complete = autograded(graded["scores"], "complete")
    assert {g: s for g, s in got.items() if g in faulted} == {g: 0 for g in faulted if g in got}
    assert {g: s for g, s in got.items() if g not in faulted} == {
        g: s for g, s in complete.items() if g not in faulted}


def test_deaf_kernel_and_dead_kernels_are_explained(graded):
    deaf = [v for errs in errors(graded["course"], "deaf").values() for e, v in errs]
    assert any("did not respond to the interrupt" in v for v in deaf)
    died = [v for errs in errors(graded["course"], "exit").values() for e, v in errs if e == "KernelDied"]
    assert died and all("exited with status 3" in v for v in died)
    crashed = [v for errs in errors(graded["course"], "segfault").values() for e, v in errs
               if e == "KernelDied"]
    assert crashed and all("segmentation fault" in v for v in crashed)


def test_syntax_error_scores_zero_with_the_reason(graded):
    """A syntax error in nndl/conv_layers.py costs every cell that imports that file; the
    student's own nndl/cnn.py (built on the provided sandwich layers) is graded on its merits."""
    scores = autograded(graded["scores"], "syntax")
    layer_cells = {cell for cell in scores if not cell.startswith("test_cnn_")}
    assert {scores[cell] for cell in layer_cells} == {0}
    assert any(e == "SyntaxError" for errs in errors(graded["course"], "syntax").values()
               for e, _ in errs)


def test_deleted_test_cells_are_restored(graded):
    assert autograded(graded["scores"], "nocells") == autograded(graded["scores"], "complete")


@pytest.mark.parametrize("student", ["patch", "repatch"])
def test_patching_numpy_or_the_checks_gains_nothing(graded, student):
    """Compared with wrong_conv (same code, no patching): nothing gained, and the cells
    during which numpy or utils.checks were tampered with score 0."""
    wrong = autograded(graded["scores"], "wrong_conv")
    assert wrong != autograded(graded["scores"], "complete")  # the control really is wrong
    got = autograded(graded["scores"], student)
    found = errors(graded["course"], student)
    tampered = {key for key, errs in found.items() if any(e == "TamperingDetected" for e, _ in errs)}
    assert all(got[g] == 0 for g in tampered if g in got)
    assert all(got[g] <= wrong[g] for g in got)
    assert sum(got.values()) <= sum(wrong.values())
    if student == "patch":
        assert tampered
        assert {g: s for g, s in got.items() if g not in tampered} == {
            g: s for g, s in wrong.items() if g not in tampered}
        assert any("numpy.allclose" in v for errs in found.values() for e, v in errs
                   if e == "TamperingDetected")


def test_snooping_finds_nothing_changes_nothing_and_scores_nothing(graded):
    course = graded["course"]
    report = read_report(course / "autograded" / "snoop" / "hw5")
    assert report is not None, "the snoop attack did not run"
    # what it looked for is there, outside the sandbox
    assert (course / "gradebook.db").is_file() and list((course / "source" / "hw5").glob("*.ipynb"))
    assert (REPO_ROOT / "nndl" / "conv_layers.py").is_file()
    assert (course / "autograded" / "complete" / "hw5" / "nndl" / "conv_layers.py").is_file()
    assert report["found"] == []
    assert report["wrote"] == []
    assert report["solution_imported"] is False
    assert report["network"] == {"127.0.0.1": "ECONNREFUSED", "192.0.2.1": "ENETUNREACH"}
    assert report["forks"] < 64
    assert graded["reached"] == []
    assert set(autograded(graded["scores"], "snoop").values()) == {0}
    for name in ("peek.txt", "grades.txt", "solution.txt"):  # submitted links not followed
        assert not (course / "autograded" / "snoop" / "hw5" / name).exists()


def test_gradebook_and_course_files_are_intact(graded):
    course, before = graded["course"], graded["before"]
    db = sqlite3.connect(course / "gradebook.db")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM grade WHERE auto_score = 999").fetchone() == (0,)
        students = {row[0] for row in db.execute("SELECT id FROM student")}
        assert students == {"complete", "empty", *ATTACKS}
        assert db.execute("SELECT count(*) FROM submitted_assignment").fetchone() == (len(students),)
    finally:
        db.close()
    assert not (course / "source" / "hw5" / "evil.txt").exists()  # source/ is the repository's
    assert not (REPO_ROOT / "nndl" / "evil.py").exists()
    assert not (course / "submitted" / "complete" / "hw5" / "evil.txt").exists()
    assert tree_digest(course / "submitted" / "complete") == before["complete"]


def test_feedback_of_a_dead_kernel_says_what_happened(graded):
    from grading.classroom import demo
    course = graded["course"]
    demo.nbgrader(course, "generate_feedback", "hw5", "--student", "exit", env=graded["env"])
    html = "".join(p.read_text() for p in (course / "feedback" / "exit" / "hw5").glob("*.html"))
    assert "KernelDied" in html and "exited with status 3" in html


# --- Ways to points without the work (issue #13) --------------------------------------------

def targeted(scores, student):
    """{grade_id: score} of the cells attack ``student`` targets."""
    return {g: s for g, (s, _) in scores[student].items() if g.startswith(TARGETS[student])}


@pytest.mark.parametrize("student", sorted(TARGETS))
def test_no_way_in_scores_more_than_the_untouched_release(graded, student):
    scores = graded["scores"]
    got, release = targeted(scores, student), {g: s for g, (s, _) in scores["empty"].items()}
    assert got, f"{student}: no targeted cell was graded"
    assert {g: s for g, s in got.items() if s > release[g]} == {}


def test_the_model_is_scored_without_the_students_code(graded):
    """The untrained model whose loss looks the labels up gets what its weights earn."""
    scores = graded["scores"]
    if graded["full_data"]:   # the control: the trained sample model earns every point
        assert scores["complete"]["test_cifar10_model"] == (4, 4)
    assert scores["labels"]["test_cifar10_model"][0] == 0
    found = read_label_report(graded["course"] / "autograded" / "labels" / "hw5")
    assert found is not None, "the label lookup never ran"
    assert found == {"found": [], "NNDL_DATA": None}   # no held-out data in the sandbox


DELEGATION_CELLS = {"test_conv_forward_basic", "test_conv_backward_dx",
                    "test_max_pool_forward_basic", "test_max_pool_backward_basic"}
RULE = "the naive layers compute their result themselves"


@pytest.mark.parametrize("student", ["delegate", "delegate_importlib", "delegate_sysmodules"])
def test_delegation_is_refused_reported_and_explained(graded, student):
    entries = read_reports(graded["course"], "hw5")[student]
    delegation = [e for e in entries if e["kind"] == "delegation"]
    assert DELEGATION_CELLS <= {e["cell"] for e in delegation}
    assert all(e["rule"] == RULE and e["notebook"] == "ConvolutionalNetworks" for e in delegation)
    message = f"conv_forward_naive called utils.fast_layers.conv_forward_fast: {RULE}"
    assert any(e["detail"] == message and e["function"] == "conv_forward_naive"
               and e["cell"] == "test_conv_forward_basic" for e in delegation)
    cell_errors = errors(graded["course"], student)["test_conv_forward_basic"]
    assert ("IntegrityError", message) in cell_errors


def test_the_feedback_gives_the_reason(graded):
    course = graded["course"]
    demo.nbgrader(course, "generate_feedback", "hw5", "--student", "delegate", env=graded["env"])
    page = (course / "feedback" / "delegate" / "hw5" / "ConvolutionalNetworks.html").read_text()
    assert f"conv_forward_naive called utils.fast_layers.conv_forward_fast: {RULE}" in page


def test_the_integrity_report_lists_every_way_in_and_no_honest_student(graded):
    reports = read_reports(graded["course"], "hw5")
    assert "complete" not in reports and "empty" not in reports
    kinds = {student: {e["kind"] for e in entries} for student, entries in reports.items()}
    assert "checks" in kinds["references"]       # placeholders or lazy objects, not data
    assert "tampering" in kinds["numpy_patch"]
    for entry in reports["references"]:
        assert entry["cell"].startswith(TARGETS["references"]) and entry["notebook"]
