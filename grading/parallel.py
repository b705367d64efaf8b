"""Autograde a class in parallel: ``nbgrader autograde ASSIGNMENT --student S`` per student.

nbgrader grades one submission after another (jupyter/nbgrader#174). Run from the
course directory::

    python -m grading.parallel hw5 --workers 2            # every submission of hw5
    python -m grading.parallel hw5 --workers 2 --force    # regrade what was graded
    python -m grading.parallel hw5 --student alice --student bob -- --debug

Each student is graded by a stock ``nbgrader autograde`` process (with the course's
nbgrader_config.py, so sandbox and fault tolerance apply), at most ``--workers`` at a
time. The gradebook takes the concurrent writes:

* PostgreSQL (``CourseDirectory.db_url = "postgresql://..."``) as it is;
* SQLite (the default) with a busy timeout added to the URL (``?timeout=120``), so a
  process that finds the file locked by another's short write transaction waits
  instead of failing; a run that still fails on a locked database is retried.

Afterwards every student's submission is checked in the gradebook: it exists once and
every autograded cell has a score. The command prints a table and exits with status 1
if any student is left without a grade.
"""

import argparse
import glob
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

SQLITE_TIMEOUT = 120
RETRIES = 2
LOCKED = "database is locked"


def load_course(course_dir="."):
    """The CourseDirectory configured by ``course_dir``/nbgrader_config.py."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    path = os.path.join(course_dir, "nbgrader_config.py")
    config = PyFileConfigLoader(path).load_config() if os.path.exists(path) else None
    coursedir = CourseDirectory(config=config) if config is not None else CourseDirectory()
    coursedir.root = os.path.abspath(course_dir)
    return coursedir, config


def submitted_students(coursedir, assignment):
    """Sorted ids of the students with a submission of ``assignment``."""
    pattern = coursedir.format_path(coursedir.submitted_directory, "*", assignment)
    prefix, suffix = pattern.split("*", 1)
    return sorted(path[len(prefix):len(path) - len(suffix)] for path in glob.glob(pattern)
                  if os.path.isdir(path))


def concurrent_db_url(db_url):
    """``db_url``, with a busy timeout for SQLite so that parallel writers wait."""
    if db_url.startswith("sqlite:///") and "timeout=" not in db_url:
        return db_url + ("&" if "?" in db_url else "?") + f"timeout={SQLITE_TIMEOUT}"
    return db_url


def autograde_one(course_root, assignment, student, db_url, extra_args):
    """Run nbgrader autograde for one student (retrying on a locked SQLite file).

    Returns a dict: student, returncode, seconds, attempts, log (stdout+stderr).
    """
    cmd = [sys.executable, "-m", "nbgrader", "autograde", assignment, "--student", student,
           f"--CourseDirectory.db_url={db_url}", *extra_args]
    start = time.monotonic()
    for attempt in range(1, RETRIES + 2):
        proc = subprocess.run(cmd, cwd=course_root, capture_output=True, text=True)
        log = proc.stdout + proc.stderr
        if proc.returncode == 0 or LOCKED not in log:
            break
    return {"student": student, "returncode": proc.returncode, "attempts": attempt,
            "seconds": time.monotonic() - start, "log": log}


def check_gradebook(db_url, assignment, students):
    """Dict student -> (score, max_score) or a problem string; one submission each.

    A problem is reported when the submission is missing or an autograded cell (a
    grade cell that is not a manually graded answer) has no score.
    """
    from nbgrader.api import Gradebook, MissingEntry

    results = {}
    with Gradebook(db_url) as gb:
        for student in students:
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                results[student] = "no submission in the gradebook"
                continue
            unscored = [f"{nb.name}/{grade.name}" for nb in submission.notebooks
                        for grade in nb.grades
                        if grade.auto_score is None and grade.cell.cell_type == "code"
                        and not grade.needs_manual_grade]
            results[student] = (f"no score for {', '.join(unscored)}" if unscored
                                else (submission.score, submission.max_score))
    return results


def autograde_parallel(assignment, workers, students=None, extra_args=(), course_dir=".",
                       progress=print):
    """Grade ``students`` (default: every submission) with ``workers`` processes.

    Returns (runs, results): the per-student runs of ``autograde_one`` (in order of
    completion) and ``check_gradebook``'s results.
    """
    from .faults import FaultTolerantExecute
    from .sandbox import require_sandbox

    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    coursedir, config = load_course(course_dir)
    uses_sandbox = config is not None and FaultTolerantExecute in config.Autograde.get(
        "autograde_preprocessors", [])
    if uses_sandbox:
        allow = config.FaultTolerantExecute.get("allow_unsandboxed", False)
        require_sandbox(allow)  # SandboxUnavailable before any process starts
    students = list(students) if students else submitted_students(coursedir, assignment)
    if not students:
        raise FileNotFoundError(f"no submissions of {assignment!r} in "
                                f"{coursedir.format_path(coursedir.submitted_directory, '*', assignment)}")
    db_url = concurrent_db_url(coursedir.db_url)
    runs = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(autograde_one, coursedir.root, assignment, s, db_url, list(extra_args))
                   for s in students]
        for future in futures:
            run = future.result()
            runs.append(run)
            status = "ok" if run["returncode"] == 0 else f"FAILED (exit {run['returncode']})"
            progress(f"[{len(runs)}/{len(students)}] {run['student']}: {status} "
                     f"in {run['seconds']:.1f} s")
    return runs, check_gradebook(coursedir.db_url, assignment, students)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Autograde every submission of an assignment with several nbgrader processes.",
        epilog="Arguments after -- go to each nbgrader autograde command.")
    parser.add_argument("assignment")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes grading at the same time (default: the number of CPUs)")
    parser.add_argument("--student", action="append", help="grade only this student (repeatable)")
    parser.add_argument("--force", action="store_true", help="regrade submissions already graded")
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    extra = (["--force"] if args.force else []) + extra

    from .sandbox import SandboxUnavailable
    start = time.monotonic()
    try:
        runs, results = autograde_parallel(args.assignment, args.workers, args.student, extra)
    except (SandboxUnavailable, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    wall = time.monotonic() - start
    failed = [r for r in runs if r["returncode"] != 0]
    for run in failed:
        print(f"\n--- nbgrader autograde log of {run['student']} (last lines) ---", file=sys.stderr)
        print("\n".join(run["log"].splitlines()[-30:]), file=sys.stderr)
    print(f"\n{'student':<24} {'score':>8} {'max':>6}")
    for student, result in sorted(results.items()):
        if isinstance(result, tuple):
            print(f"{student:<24} {result[0]:>8.2f} {result[1]:>6.1f}")
        else:
            print(f"{student:<24} {'-':>8} {'':>6}  {result}")
    ungraded = [s for s, r in results.items() if not isinstance(r, tuple)]
    print(f"\n{len(runs)} submissions, {args.workers} workers, {wall:.1f} s wall "
          f"({wall / max(len(runs), 1):.2f} s per submission); "
          f"{len(failed)} nbgrader failures, {len(ungraded)} without a complete grade")
    return 1 if ungraded or failed else 0


if __name__ == "__main__":
    sys.exit(main())
