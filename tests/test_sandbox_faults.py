"""Submissions that break the autograder still get a grade, and the others are unaffected.

A toy nbgrader course (tests/adversarial/toy_course.py) is graded with the stock
``nbgrader autograde ps1`` and the course's sandbox configuration. Its submissions hang
(with and without answering the interrupt), exhaust memory, kill the kernel
(``os._exit``, a segfault), fail to import (syntax error), delete their test cells, or
monkeypatch ``np.allclose`` (at import time, and inside the graded function).
Slow: about a minute, mostly the cell timeouts of the hanging submissions.
"""
import os
import re
import subprocess
import sys
import time

import nbformat
import pytest

from adversarial.toy_course import EXPECTED, build_course, cell_scores, nbgrader, scores
from grading.sandbox.status import sandbox_status

works, reason = sandbox_status()
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not works, reason=f"sandbox unavailable: {reason}")]

ZERO = {"test_add": 0, "test_scale": 0, "test_add_again": 0}
FULL = {"test_add": 2, "test_scale": 3, "test_add_again": 1}
NO_ADD = {"test_add": 0, "test_scale": 3, "test_add_again": 0}
NO_SCALE = {"test_add": 2, "test_scale": 0, "test_add_again": 1}
CELLS = {"good": FULL, "nocells": FULL, "wrong": NO_SCALE, "oom": NO_SCALE, "patch": NO_SCALE,
         "repatch": NO_SCALE, "hang": NO_ADD, "deaf": NO_ADD, "exit": NO_ADD,
         "segfault": NO_ADD, "syntax": ZERO}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = build_course(tmp_path_factory.mktemp("faults") / "course")
    result = nbgrader(course, "autograde", "ps1", check=False)
    return course, f"sqlite:///{course / 'gradebook.db'}", result


def errors(course, student):
    """(grade_id, ename, evalue) of every error output in the student's autograded notebook."""
    nb = nbformat.read(course / "autograded" / student / "ps1" / "ps1.ipynb", as_version=4)
    return [(cell.metadata["nbgrader"]["grade_id"], out.ename, out.evalue)
            for cell in nb.cells for out in cell.get("outputs", []) if out.output_type == "error"]


def test_every_submission_gets_its_grade(graded):
    course, db_url, result = graded
    assert result.returncode == 0, result.stderr[-3000:]
    assert scores(db_url) == pytest.approx(EXPECTED)


@pytest.mark.parametrize("student", sorted(CELLS))
def test_each_test_cell_scores_what_passed(graded, student):
    _, db_url, _ = graded
    assert cell_scores(db_url, student) == pytest.approx(CELLS[student])


def test_feedback_says_what_happened(graded):
    course, _, _ = graded
    died = errors(course, "exit")
    assert [(g, e) for g, e, _ in died] == [("test_add", "KernelDied"), ("test_add_again", "KernelDied")]
    assert "exited with status 3" in died[0][2]
    assert "segmentation fault" in errors(course, "segfault")[0][2]
    assert any(e == "CellTimeoutError" and "did not respond to the interrupt" in v
               for _, e, v in errors(course, "deaf"))
    assert any(e == "CellTimeoutError" for _, e, _ in errors(course, "hang"))
    assert ("test_scale", "MemoryError") in [(g, e) for g, e, _ in errors(course, "oom")]
    assert errors(course, "syntax")[0][:2] == ("imports", "SyntaxError")
    tampering = [(g, v) for g, e, v in errors(course, "patch") if e == "TamperingDetected"]
    assert tampering and tampering[0][0] == "imports" and "numpy.allclose" in tampering[0][1]
    assert ("test_scale", "TamperingDetected") in [(g, e) for g, e, _ in errors(course, "repatch")]
    restored = nbformat.read(course / "autograded" / "nocells" / "ps1" / "ps1.ipynb", as_version=4)
    assert [c.metadata["nbgrader"]["grade_id"] for c in restored.cells] == [
        "imports", "test_add", "test_scale", "test_add_again"]


def test_generated_feedback_shows_the_fault(graded):
    course, _, _ = graded
    nbgrader(course, "generate_feedback", "ps1", "--student", "exit")
    html = (course / "feedback" / "exit" / "ps1" / "ps1.html").read_text()
    assert "KernelDied" in html and "exited with status 3" in html


def without_bwrap():
    """The environment of a machine without bubblewrap on PATH."""
    return dict(os.environ, PATH=os.path.dirname(sys.executable))


def test_autograde_refuses_without_a_sandbox(graded):
    course, db_url, _ = graded
    before = cell_scores(db_url, "good")
    run = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", "ps1", "--student", "good",
                          "--force"], cwd=course, env=without_bwrap(), capture_output=True, text=True)
    assert run.returncode != 0
    assert "Refusing to autograde" in run.stderr and "apt-get install bubblewrap" in run.stderr
    assert not (course / "autograded" / "good" / "ps1" / "ps1.ipynb").exists()
    assert cell_scores(db_url, "good") == before  # nothing graded, nothing lost


def test_opting_out_grades_without_a_sandbox(graded):
    course, db_url, _ = graded
    env = dict(without_bwrap(), NNDL_ALLOW_UNSANDBOXED="1")
    run = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", "ps1", "--student", "good",
                          "--force"], cwd=course, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Grading WITHOUT a sandbox" in run.stderr
    assert cell_scores(db_url, "good") == pytest.approx(FULL)


def test_a_function_that_hung_is_named_and_fails_later_cells_at_once(graded):
    course, _, _ = graded
    found = {grade_id: (ename, evalue) for grade_id, ename, evalue in errors(course, "hang")
             if ename in ("CellTimeoutError", "TimeoutError")}
    ename, message = found["test_add"]
    assert ename == "CellTimeoutError"
    assert re.match(r"add \(mymod\.py, line [56]\) did not finish within the time limit of 4 s",
                    message), message
    assert "later cells that call add fail at once" in message
    # test_add_again called the replaced add: it failed at once, with the same message.
    assert found["test_add_again"] == ("TimeoutError", message)


SLEEPY = """
import time

def add(a, b):
    time.sleep(120)
    return a + b

def scale(x, factor):
    time.sleep(120)
    return x * factor
"""


def test_the_submission_budget_bounds_the_grading_time(tmp_path):
    course = build_course(tmp_path / "course", students={"sleepy": SLEEPY})
    start = time.monotonic()
    # Each test cell may take 300 s, and needs 120: only the budget of 2 s stops them.
    nbgrader(course, "autograde", "ps1", "--FaultTolerantExecute.submission_timeout=2",
             "--Execute.timeout=300")
    elapsed = time.monotonic() - start
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    assert cell_scores(db_url, "sleepy") == pytest.approx(ZERO)
    messages = [evalue for _, _, evalue in errors(course, "sleepy")]
    assert any("submission's 2 s time budget" in m or "used up its 2 s time budget" in m
               for m in messages), messages
    # Without the budget: 3 x 120 s. With it: nbgrader's own work (about 10 s on an idle
    # machine) and 2 s of cells.
    assert elapsed < 120
