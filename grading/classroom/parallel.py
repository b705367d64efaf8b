"""Autograde a class in parallel with stock ``nbgrader autograde`` processes.

nbgrader grades one submission after another (jupyter/nbgrader#174). Run from the
course directory::

    python -m grading.classroom.parallel hw5 --workers 2            # every submission of hw5
    python -m grading.classroom.parallel hw5 --workers 2 --force    # regrade what was graded
    python -m grading.classroom.parallel hw5 --student alice --student bob -- --debug

The students are split into small batches, and ``--workers`` batches are graded at a
time, each by one ``nbgrader autograde ASSIGNMENT`` process told to leave out everyone
else (``CourseDirectory.student_id_exclude``), with the course's nbgrader_config.py (so
sandbox and fault tolerance apply). A process per batch rather than per student saves
nbgrader's start-up (about 2.5 s of CPU) for all but one student of each batch. A
student whose grading failed is graded once more in a process of its own.

The gradebook takes the concurrent writes:

* PostgreSQL (``CourseDirectory.db_url = "postgresql+psycopg2://..."``) as it is;
* SQLite (the default) with a busy timeout added to the URL (``?timeout=120``), so a
  process that finds the file locked by another's short write transaction waits
  instead of failing.

Afterwards every student's submission is checked in the gradebook: it exists once and
every autograded cell has a score. The command prints a table and exits with status 1
if any student is left without a grade.
"""

import argparse
import glob
import math
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

SQLITE_TIMEOUT = 120
BATCH_SIZE = 4
FAILED = re.compile(r"There was an error processing assignment '[^']*' for student '([^']*)'")


def load_course(course_dir="."):
    """The CourseDirectory configured by ``course_dir``/nbgrader_config.py, and the config."""
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


def batches(students, workers, batch_size=BATCH_SIZE):
    """Split ``students`` into batches of at most ``batch_size``, at least 2 per worker
    when there are enough students (so that no worker idles long at the end)."""
    size = max(1, min(batch_size, math.ceil(len(students) / (2 * workers))))
    return [students[i:i + size] for i in range(0, len(students), size)]


def autograde_batch(course_root, assignment, batch, everyone, db_url, extra_args,
                    command="autograde", prefix=()):
    """Grade the students of ``batch`` in one nbgrader process; return its run record.

    ``command`` is the nbgrader command run (``generate_feedback`` works the same way) and
    ``prefix`` a command it runs under (``setpriv --pdeathsig KILL``, say). The record:
    students, seconds, returncode, failed (students nbgrader reported as failed; all of
    the batch if the process failed without saying whom), log.
    """
    cmd = [*prefix, sys.executable, "-m", "nbgrader", command, assignment,
           f"--CourseDirectory.db_url={db_url}"]
    others = sorted(set(everyone) - set(batch))
    if len(batch) == 1:
        cmd += ["--student", batch[0]]
    elif others:
        cmd.append("--CourseDirectory.student_id_exclude=" + ",".join(others))
    start = time.monotonic()
    proc = subprocess.run(cmd + list(extra_args), cwd=course_root, capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    failed = sorted(set(FAILED.findall(log)) & set(batch))
    if proc.returncode != 0 and not failed:
        failed = list(batch)
    return {"students": list(batch), "seconds": time.monotonic() - start,
            "returncode": proc.returncode, "failed": failed, "log": log}


def check_gradebook(db_url, assignment, students):
    """Dict student -> (score, max_score), or a problem string.

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
                       batch_size=BATCH_SIZE, progress=print):
    """Grade ``students`` (default: every submission) with ``workers`` processes at a time.

    Returns (runs, results): the batch runs of ``autograde_batch`` (in order of
    completion, retries last) and ``check_gradebook``'s results.
    """
    from grading.sandbox.faults import FaultTolerantExecute
    from grading.sandbox.status import require_sandbox

    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    coursedir, config = load_course(course_dir)
    if config is not None and FaultTolerantExecute in config.Autograde.get(
            "autograde_preprocessors", []):
        require_sandbox(config.FaultTolerantExecute.get("allow_unsandboxed", False))
    everyone = submitted_students(coursedir, assignment)
    students = list(students) if students else everyone
    if not students:
        raise FileNotFoundError(f"no submissions of {assignment!r} in "
                                f"{coursedir.format_path(coursedir.submitted_directory, '*', assignment)}")
    odd = [s for s in students if "," in s or s not in everyone]
    if odd:
        raise ValueError(f"cannot grade {odd}: no submission, or a comma in the id")
    db_url = concurrent_db_url(coursedir.db_url)
    runs, done = [], 0

    def report(run):
        nonlocal done
        runs.append(run)
        done += len(run["students"])
        status = "ok" if not run["failed"] else f"FAILED: {', '.join(run['failed'])}"
        progress(f"[{min(done, len(students))}/{len(students)}] {', '.join(run['students'])}: "
                 f"{status} in {run['seconds']:.1f} s")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(autograde_batch, coursedir.root, assignment, batch, everyone,
                               db_url, extra_args) for batch in batches(students, workers, batch_size)]
        failed = []
        for future in as_completed(futures):
            run = future.result()
            report(run)
            failed += run["failed"]
        done -= len(failed)
        retries = [pool.submit(autograde_batch, coursedir.root, assignment, [s], everyone,
                               db_url, list(extra_args) + ["--force"]) for s in sorted(failed)]
        for future in as_completed(retries):
            report(future.result())
    return runs, check_gradebook(coursedir.db_url, assignment, students)


def still_failed(runs):
    """Students whose last nbgrader run failed."""
    last = {}
    for run in runs:
        for student in run["students"]:
            last[student] = student in run["failed"]
    return sorted(s for s, failed in last.items() if failed)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Autograde every submission of an assignment with several nbgrader processes.",
        epilog="Arguments after -- go to each nbgrader autograde command.")
    parser.add_argument("assignment")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="nbgrader processes at a time (default: the number of CPUs)")
    parser.add_argument("--student", action="append", help="grade only this student (repeatable)")
    parser.add_argument("--force", action="store_true", help="regrade submissions already graded")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE,
                        help=f"students per nbgrader process, at most (default {BATCH_SIZE})")
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    extra = (["--force"] if args.force else []) + extra

    from grading.sandbox.status import SandboxUnavailable
    start = time.monotonic()
    try:
        runs, results = autograde_parallel(args.assignment, args.workers, args.student, extra,
                                           batch_size=args.batch_size)
    except (SandboxUnavailable, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    wall = time.monotonic() - start
    for run in runs:
        if run["failed"]:
            print(f"\n--- nbgrader autograde log of {', '.join(run['students'])} (last lines) ---",
                  file=sys.stderr)
            print("\n".join(run["log"].splitlines()[-30:]), file=sys.stderr)
    print(f"\n{'student':<24} {'score':>8} {'max':>6}")
    for student, result in sorted(results.items()):
        if isinstance(result, tuple):
            print(f"{student:<24} {result[0]:>8.2f} {result[1]:>6.1f}")
        else:
            print(f"{student:<24} {'-':>8} {'':>6}  {result}")
    ungraded = [s for s, r in results.items() if not isinstance(r, tuple)]
    failed = still_failed(runs)
    print(f"\n{len(results)} submissions, {args.workers} workers, {wall:.1f} s wall "
          f"({wall / max(len(results), 1):.2f} s per submission); "
          f"{len(failed)} nbgrader failures, {len(ungraded)} without a complete grade")
    return 1 if ungraded or failed else 0


if __name__ == "__main__":
    sys.exit(main())
