"""Parallel autograding (python -m grading.classroom.parallel) against nbgrader's serial autograde.

The same toy course (tests/adversarial/toy_course.py) is graded twice: by the stock
``nbgrader autograde ps1`` and by ``python -m grading.classroom.parallel ps1 --workers 2``, on the
default SQLite gradebook and on a real PostgreSQL server started for the test. Both must
give every student exactly the serial grades, once each.
"""
import subprocess
import sys

import pytest

from adversarial.postgres import throwaway_postgres, unavailable_reason
from adversarial.toy_course import (CORRECT, SUBMISSIONS, WRONG_SCALE, build_course, grade_rows,
                                   scores)
from adversarial.toy_course import serial_scores as toy_serial_scores
from grading.classroom import parallel
from grading.sandbox.status import sandbox_status

works, reason = sandbox_status()
pytestmark = pytest.mark.skipif(not works, reason=f"sandbox unavailable: {reason}")

# fast submissions (no timeouts), several of each kind
STUDENTS = {f"s{i:02d}": code for i, code in enumerate(
    [CORRECT, WRONG_SCALE, SUBMISSIONS["exit"], SUBMISSIONS["syntax"], SUBMISSIONS["patch"]] * 2)}
STUDENTS["s10"] = SUBMISSIONS["nocells"]
EXPECTED = {s: {CORRECT: 6, WRONG_SCALE: 3, SUBMISSIONS["exit"]: 3, SUBMISSIONS["syntax"]: 0,
                SUBMISSIONS["patch"]: 3}.get(code, 6) for s, code in STUDENTS.items()}


def run_parallel(course, *args):
    return subprocess.run([sys.executable, "-m", "grading.classroom.parallel", "ps1", *args], cwd=course,
                          capture_output=True, text=True, timeout=900)




@pytest.fixture(scope="module")
def serial_scores(tmp_path_factory):
    """The grades of the stock, serial ``nbgrader autograde ps1`` of STUDENTS."""
    graded = toy_serial_scores(tmp_path_factory.mktemp("serial") / "course", STUDENTS)
    assert graded == pytest.approx(EXPECTED)
    return graded


def grade_in_parallel(course_dir, db_url=None):
    course = build_course(course_dir, STUDENTS, db_url=db_url)
    result = run_parallel(course, "--workers", "2")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "11 submissions, 2 workers" in result.stdout
    return course, db_url or f"sqlite:///{course / 'gradebook.db'}"


def assert_once_each(db_url):
    rows = grade_rows(db_url)
    assert len(rows) == len(set(rows)) == 3 * len(STUDENTS)  # nothing lost, nothing twice


@pytest.mark.slow
def test_parallel_sqlite_gives_the_serial_grades(tmp_path, serial_scores):
    course, db_url = grade_in_parallel(tmp_path / "course")
    assert scores(db_url) == serial_scores
    assert_once_each(db_url)
    # regrading with --force replaces the grades instead of adding to them
    again = run_parallel(course, "--workers", "2", "--force", "--student", "s00", "--student", "s01")
    assert again.returncode == 0, again.stderr[-2000:]
    assert scores(db_url) == serial_scores
    assert_once_each(db_url)


@pytest.mark.slow
@pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))
def test_parallel_postgresql_gives_the_serial_grades(tmp_path, serial_scores):
    with throwaway_postgres() as db_url:
        grade_in_parallel(tmp_path / "course", db_url)
        assert scores(db_url) == serial_scores
        assert_once_each(db_url)


@pytest.mark.slow
def test_a_submission_nbgrader_cannot_grade_is_reported_and_the_rest_graded(tmp_path):
    course = build_course(tmp_path / "course", {"good": CORRECT, "wrong": WRONG_SCALE,
                                                "renamed": CORRECT})
    submitted = course / "submitted" / "renamed" / "ps1"
    (submitted / "ps1.ipynb").rename(submitted / "my ps1.ipynb")  # nbgrader cannot grade it
    result = run_parallel(course, "--workers", "2")
    assert result.returncode == 1
    assert "renamed" in result.stdout and "1 nbgrader failures" in result.stdout
    assert "No notebooks found" in result.stderr  # nbgrader's own reason, in the log shown
    graded = scores(f"sqlite:///{course / 'gradebook.db'}")
    assert graded["good"] == 6 and graded["wrong"] == 3


def test_sqlite_url_gets_a_busy_timeout():
    assert parallel.concurrent_db_url("sqlite:////c/gradebook.db") == "sqlite:////c/gradebook.db?timeout=120"
    assert parallel.concurrent_db_url("sqlite:////c/g.db?timeout=5") == "sqlite:////c/g.db?timeout=5"
    pg = "postgresql+psycopg2://u@h/db"
    assert parallel.concurrent_db_url(pg) == pg


def test_batches_cover_everyone_once_and_keep_every_worker_busy():
    students = [f"s{i:03d}" for i in range(10)]
    split = parallel.batches(students, workers=2)
    assert [s for batch in split for s in batch] == students
    assert len(split) >= 4 and max(map(len, split)) <= parallel.BATCH_SIZE
    assert parallel.batches(students[:3], workers=4) == [["s000"], ["s001"], ["s002"]]


def test_failed_students_are_read_from_the_log():
    runs = [{"students": ["a", "b"], "failed": ["b"]}, {"students": ["c"], "failed": []},
            {"students": ["b"], "failed": []}]
    assert parallel.still_failed(runs) == []
    assert parallel.still_failed(runs[:2]) == ["b"]
    log = "[AutogradeApp | ERROR] There was an error processing assignment 'ps1' for student 'b'"
    assert parallel.FAILED.findall(log) == ["b"]


def test_missing_submissions_and_bad_workers_are_errors(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    with pytest.raises(FileNotFoundError, match="no submissions of 'hw9'"):
        parallel.autograde_parallel("hw9", 2, course_dir=str(tmp_path))
    with pytest.raises(ValueError, match="workers must be at least 1"):
        parallel.autograde_parallel("hw9", 0, course_dir=str(tmp_path))


@pytest.mark.slow
def test_benchmark_script_small(tmp_path):
    """benchmarks/bench_autograde.py on 4 hw5 submissions (the recorded run uses 100)."""
    import json
    from pathlib import Path
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_autograde.py"
    out = tmp_path / "results.json"
    run = subprocess.run([sys.executable, str(script), "--submissions", "4", "--workers", "2",
                          "--json", str(out)], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    results = json.loads(out.read_text())
    serial, parallel2 = results["runs"]
    assert results["submissions"] == 4 and parallel2["workers"] == 2
    assert parallel2["same_grades"] is True
    assert serial["per_submission"] > 0 and parallel2["per_submission"] > 0
    assert "| `python -m grading.classroom.parallel hw5 --workers 2` | 2 |" in run.stdout
