"""Autograde a class across machines on dask.distributed, with stock ``nbgrader autograde``.

From the course directory::

    python -m grading.classroom.distributed hw5                               # a LocalCluster, one worker a CPU
    python -m grading.classroom.distributed hw5 --scheduler tcp://HOST:8786   # a running cluster
    python -m grading.classroom.distributed hw5 --force --student alice -- --debug

A task grades a small batch of students on a worker: in a private course folder of its
own it runs ``nbgrader autograde ASSIGNMENT --force`` (then ``nbgrader generate_feedback``)
with the course's nbgrader_config.py, so the sandbox and fault tolerance apply as in
serial grading. The grades go straight from the worker to the gradebook
(``CourseDirectory.db_url``); the autograded notebooks and the feedback come back to the
course directory.

Course files. Without a shared filesystem, what autograde needs (nbgrader_config.py,
``source/ASSIGNMENT`` and the course's top-level packages) is packed once into a tarball
that a worker plugin unpacks once on every worker (on workers that join later too); each
task carries only its students' submissions and brings the results back as a tarball. A
shared filesystem is detected (every worker reads a file the client has just written in
the course directory) and then used instead: tasks read the course and write the results
in place. The gradebook must then be a server (PostgreSQL) unless the filesystem is shared.

Failures. A worker that dies mid-task has its tasks rerun elsewhere by dask; grading a
student is idempotent (``--force``, and nbgrader updates the student's one submission
row), and with PostgreSQL a per-student advisory lock keeps a single writer per student
even if a worker thought lost is still running (its nbgrader process is also killed with
it: ``setpriv --pdeathsig``). A task that raises is retried once by dask; a student that
nbgrader fails to grade (an error of the grading code: kernel faults are graded by
``FaultTolerantExecute``) is graded once more on its own, then reported.

Reruns grade only what is new or changed: the SHA-256 of every graded submission folder is
kept in ``autograded/.distributed-ASSIGNMENT.json``; a student is graded again when that
hash changed, the gradebook lacks a complete grade, or ``--force``.
"""

import argparse
import contextlib
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
import uuid

from distributed import WorkerPlugin

from grading.classroom.parallel import (BATCH_SIZE, autograde_batch, batches, check_gradebook, concurrent_db_url,
                       load_course, submitted_students)

# the nbgrader processes of a task die with the worker that runs it
KILL_WITH_PARENT = ("setpriv", "--pdeathsig", "KILL") if shutil.which("setpriv") else ()


# --- what the workers need --------------------------------------------------------------------

def course_files(root, assignment):
    """Paths, relative to the course ``root``, that autograde needs besides the submission:
    nbgrader_config.py, source/ASSIGNMENT and the top-level packages (folders with an
    __init__.py) of the course directory."""
    if not os.path.isdir(os.path.join(root, "source", assignment)):
        raise FileNotFoundError(f"no source/{assignment} in {root}: run nbgrader "
                                f"generate_assignment {assignment} there first")
    files = ["nbgrader_config.py", os.path.join("source", assignment)]
    files += sorted(name for name in os.listdir(root)
                    if os.path.isfile(os.path.join(root, name, "__init__.py")))
    return [f for f in files if os.path.exists(os.path.join(root, f))]


def _skip_caches(info):
    return None if "__pycache__" in info.name.split("/") else info


def pack(root, paths, dereference=False):
    """Gzipped tarball (bytes) of ``paths`` relative to ``root``. Symbolic links are kept
    as links, or with ``dereference`` replaced by what they point to (source/hw5 links
    to the course packages)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1,
                      dereference=dereference) as tar:
        for path in paths:
            tar.add(os.path.join(root, path), arcname=path, filter=_skip_caches)
    return buffer.getvalue()


def unpack(data, dest):
    """Unpack a tarball made by ``pack`` into ``dest``. Member names may not leave
    ``dest``; links inside a submission are kept (nbgrader's DropSubmittedLinks deletes
    them before anything runs)."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(dest, filter="tar")


def submission_hash(folder):
    """SHA-256 of a submission folder: every file's relative path and bytes (a link's target)."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            digest.update(os.path.relpath(path, folder).encode() + b"\0")
            if os.path.islink(path):
                digest.update(b"link:" + os.readlink(path).encode())
            else:
                with open(path, "rb") as f:
                    digest.update(hashlib.sha256(f.read()).digest())
    return digest.hexdigest()


class CourseFiles(WorkerPlugin):
    """Unpacks the course tarball once on every worker, into its local directory."""

    def __init__(self, tarball, digest):
        self.tarball, self.digest = tarball, digest
        self.name = f"nbgrader-course-{digest[:16]}"

    def setup(self, worker):
        dest = os.path.join(worker.local_directory, self.name)
        if not os.path.isdir(dest):
            partial = tempfile.mkdtemp(dir=worker.local_directory, prefix=".unpacking-")
            unpack(self.tarball, partial)
            os.rename(partial, dest)


def _local_directory():
    try:
        from distributed import get_worker
        return get_worker().local_directory
    except ValueError:  # called outside a worker
        return tempfile.gettempdir()


def sees_file(path, token):
    """Whether this machine reads ``token`` from ``path`` (run on every worker)."""
    try:
        with open(path) as f:
            return f.read() == token
    except OSError:
        return False


def shared_filesystem(client, root):
    """Whether every worker of ``client`` sees the course directory ``root`` as it is here."""
    token = uuid.uuid4().hex
    marker = os.path.join(root, f".distributed-probe-{token}")
    with open(marker, "w") as f:
        f.write(token)
    try:
        seen = client.run(sees_file, marker, token)
    finally:
        os.remove(marker)
    return bool(seen) and all(seen.values())


# --- the task ---------------------------------------------------------------------------------

def _lock_key(assignment, student):
    return int.from_bytes(hashlib.sha256(f"{assignment}/{student}".encode()).digest()[:8],
                          "big", signed=True)


@contextlib.contextmanager
def student_locks(db_url, assignment, students):
    """Hold a PostgreSQL advisory lock per student (one writer per student) while open.

    The locks belong to a database session of this process: they are released when the
    block ends or the process dies. SQLite gradebooks (one machine) take no lock.
    """
    if not db_url.startswith("postgresql"):
        yield
        return
    import sqlalchemy
    from sqlalchemy.pool import NullPool
    engine = sqlalchemy.create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            for student in sorted(students):  # one order everywhere: no deadlock
                conn.exec_driver_sql("SELECT pg_advisory_lock(%s)", (_lock_key(assignment, student),))
            yield
    finally:
        engine.dispose()


def _results(course, assignment, students):
    """Relative paths of the autograded and feedback folders of ``students`` in ``course``."""
    return [path for student in students
            for path in (os.path.join("autograded", student, assignment),
                         os.path.join("feedback", student, assignment))
            if os.path.isdir(os.path.join(course, path))]


def place(source_root, dest_root, paths):
    """Copy the folders ``paths`` from ``source_root`` to ``dest_root``, replacing them."""
    for path in paths:
        dest = os.path.join(dest_root, path)
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(os.path.join(source_root, path), dest, symlinks=True)


def grade_batch(assignment, students, db_url, extra_args=(), shared_root=None, course_digest=None,
                submissions=None, feedback=True):
    """Grade ``students`` in a private course folder on this worker; return the run record.

    The course files come from ``shared_root`` (a shared filesystem) or from the
    worker's unpacked tarball ``course_digest``; the submissions from ``shared_root`` or
    the tarball ``submissions``. With ``shared_root`` the results are written there,
    otherwise returned as the tarball ``results``. The record is ``autograde_batch``'s
    (students, seconds, returncode, failed, log) plus worker and results.
    """
    scratch = _local_directory()
    template = shared_root or os.path.join(scratch, f"nbgrader-course-{course_digest[:16]}")
    if not os.path.isdir(template):
        raise RuntimeError(f"the course files are not on this worker ({template})")
    task = tempfile.mkdtemp(prefix=f"autograde-{assignment}-", dir=scratch)
    try:
        course = os.path.join(task, "course")
        for path in course_files(template, assignment):
            target = os.path.join(course, path)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if path.startswith("source"):  # a copy: nbgrader copies it over submissions
                shutil.copytree(os.path.join(template, path), target)
            else:
                os.symlink(os.path.join(template, path), target)
        if shared_root:
            place(shared_root, course, [os.path.join("submitted", s, assignment) for s in students])
        else:
            unpack(submissions, course)
        start = time.monotonic()
        with student_locks(db_url, assignment, students):
            run = autograde_batch(course, assignment, students, students, db_url,
                                  [*extra_args, "--force"], prefix=KILL_WITH_PARENT)
            graded = [s for s in students if s not in run["failed"]]
            if feedback and graded:
                fb = autograde_batch(course, assignment, graded, graded, db_url, ["--force"],
                                     command="generate_feedback", prefix=KILL_WITH_PARENT)
                run["failed"] = sorted(set(run["failed"]) | set(fb["failed"]))
                run["log"] += fb["log"]
        run["seconds"] = time.monotonic() - start
        done = _results(course, assignment, [s for s in students if s not in run["failed"]])
        if shared_root:
            place(course, shared_root, done)
            run["results"] = None
        else:
            run["results"] = pack(course, done)
        run["worker"] = os.uname().nodename + ":" + str(os.getpid())
        return run
    finally:
        shutil.rmtree(task, ignore_errors=True)


def noop(x):
    """A task that does nothing (to measure the scheduler's cost per task)."""
    return x


# --- the client -------------------------------------------------------------------------------

def manifest_path(coursedir, assignment):
    return os.path.join(coursedir.root, coursedir.autograded_directory,
                        f".distributed-{assignment}.json")


def read_manifest(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def write_manifest(path, graded):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(graded, f, indent=0, sort_keys=True)
    os.replace(path + ".tmp", path)


def to_grade(coursedir, assignment, students, hashes, force=False):
    """The students of ``students`` whose submission is new, changed since it was graded
    (``hashes`` against the manifest) or without a complete grade in the gradebook."""
    if force:
        return list(students)
    graded = read_manifest(manifest_path(coursedir, assignment))
    unchanged = [s for s in students if graded.get(s) == hashes[s]]
    complete = check_gradebook(coursedir.db_url, assignment, unchanged) if unchanged else {}
    return [s for s in students
            if not (s in complete and isinstance(complete[s], tuple))]


def autograde_distributed(assignment, client, students=None, extra_args=(), course_dir=".",
                          batch_size=BATCH_SIZE, shared_fs="auto", force=False, feedback=True,
                          progress=True):
    """Grade the new or changed submissions of ``assignment`` on the workers of ``client``.

    ``shared_fs`` is "auto" (detect), "yes" or "no". Returns a summary dict: requested,
    graded, skipped (unchanged), failed (student -> reason), runs (the task records,
    without their result tarballs), results (``check_gradebook`` of the requested
    students), shared_fs, seconds.
    """
    from distributed import as_completed
    from tqdm import tqdm

    start = time.monotonic()
    coursedir, _ = load_course(course_dir)
    root = coursedir.root
    everyone = submitted_students(coursedir, assignment)
    students = list(students) if students else everyone
    if not students:
        raise FileNotFoundError(f"no submissions of {assignment!r} in "
                                f"{coursedir.format_path(coursedir.submitted_directory, '*', assignment)}")
    missing = [s for s in students if s not in everyone]
    if missing:
        raise ValueError(f"cannot grade {missing}: no submission of {assignment!r}")
    if shared_fs not in ("auto", "yes", "no"):
        raise ValueError(f"shared_fs must be 'auto', 'yes' or 'no', got {shared_fs!r}")
    files = course_files(root, assignment)
    if shared_fs == "auto":
        client.wait_for_workers(1)
        shared = shared_filesystem(client, root)
    else:
        shared = shared_fs == "yes"
    if not shared and coursedir.db_url.startswith("sqlite"):
        raise ValueError(f"the gradebook {coursedir.db_url} is a SQLite file, which workers without "
                         f"a shared filesystem cannot reach: use a PostgreSQL gradebook "
                         f"(c.CourseDirectory.db_url = 'postgresql+psycopg2://USER@HOST/DB')")
    db_url = concurrent_db_url(coursedir.db_url)

    def folder(student):
        return coursedir.format_path(coursedir.submitted_directory, student, assignment)

    hashes = {s: submission_hash(folder(s)) for s in students}
    todo = to_grade(coursedir, assignment, students, hashes, force)
    common = dict(db_url=db_url, extra_args=list(extra_args), feedback=feedback)
    if shared:
        common["shared_root"] = root
    elif todo:
        tarball = pack(root, files, dereference=True)
        common["course_digest"] = hashlib.sha256(tarball).hexdigest()
        client.register_plugin(CourseFiles(tarball, common["course_digest"]))

    batch_of = {}

    def submit(batch):
        payload = None if shared else pack(root, [os.path.relpath(folder(s), root) for s in batch])
        future = client.submit(grade_batch, assignment, batch, submissions=payload, retries=1,
                               pure=False, **common)
        batch_of[future.key] = batch
        return future

    manifest = manifest_path(coursedir, assignment)
    graded_hashes = read_manifest(manifest)
    runs, failed, retried = [], {}, set()
    threads = max(sum(client.nthreads().values()), 1)
    queue = batches(todo, threads, batch_size)
    bar = tqdm(total=len(todo), unit="submission", desc=f"autograde {assignment}",
               disable=not progress or not todo)
    pending = as_completed([submit(queue.pop(0))
                            for _ in range(min(in_flight(client), len(queue)))])
    for future in pending:
        batch = batch_of.pop(future.key)
        try:
            run = future.result()
        except Exception as err:  # raised twice (dask retried once), or its workers kept dying
            run = {"students": batch, "failed": list(batch), "seconds": 0.0, "returncode": None,
                   "log": f"{type(err).__name__}: {err}", "worker": None}
        if run.get("results"):
            unpack_results(run, root, assignment)
        run.pop("results", None)
        runs.append(run)
        for student in run["students"]:
            if student in run["failed"] and student not in retried:
                retried.add(student)  # graded once more, on its own
                queue.append([student])
                continue
            if student in run["failed"]:
                failed[student] = last_lines(run["log"])
            else:
                failed.pop(student, None)
                graded_hashes[student] = hashes[student]
            bar.update(1)
        write_manifest(manifest, graded_hashes)
        while queue and pending.count() < in_flight(client):
            pending.add(submit(queue.pop(0)))
    bar.close()
    return {"requested": students, "graded": sorted(set(todo) - set(failed)),
            "skipped": sorted(set(students) - set(todo)), "failed": failed, "runs": runs,
            "results": check_gradebook(coursedir.db_url, assignment, students),
            "shared_fs": shared, "seconds": time.monotonic() - start}


def in_flight(client):
    """How many tasks to keep submitted: twice the cluster's threads, at least 4 (the
    submissions of queued tasks wait on the client, not in the scheduler's memory)."""
    return max(4, 2 * sum(client.nthreads().values()))


def unpack_results(run, root, assignment):
    """Put the autograded and feedback folders a task brought back into the course ``root``."""
    graded = [s for s in run["students"] if s not in run["failed"]]
    for path in _results(root, assignment, graded):
        shutil.rmtree(os.path.join(root, path), ignore_errors=True)
    unpack(run["results"], root)


def last_lines(log, count=15):
    """The last ``count`` non-blank lines of a log."""
    lines = [line for line in log.splitlines() if line.strip()]
    return "\n".join(lines[-count:]) or "no log"


def make_client(scheduler=None, workers=None):
    """A Client of the cluster at ``scheduler``, or of a new LocalCluster of ``workers``
    single-threaded workers (default: one a CPU)."""
    from distributed import Client, LocalCluster
    if scheduler:
        return Client(scheduler)
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                           dashboard_address=None)
    return Client(cluster)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Autograde the new or changed submissions of an assignment on a dask cluster.",
        epilog="Arguments after -- go to each nbgrader autograde command.")
    parser.add_argument("assignment")
    parser.add_argument("--scheduler", help="address of a running scheduler (tcp://HOST:8786); "
                                            "default: a LocalCluster on this machine")
    parser.add_argument("--workers", type=int, help="workers of the LocalCluster (default: CPUs)")
    parser.add_argument("--student", action="append", help="grade only this student (repeatable)")
    parser.add_argument("--force", action="store_true", help="regrade unchanged submissions too")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE,
                        help=f"students per task, at most (default {BATCH_SIZE})")
    parser.add_argument("--shared-fs", choices=["auto", "yes", "no"], default="auto",
                        help="whether the workers see this course directory (default: detect)")
    parser.add_argument("--no-feedback", action="store_true", help="skip nbgrader generate_feedback")
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    if args.batch_size < 1:
        parser.error(f"--batch-size must be at least 1, got {args.batch_size}")

    with make_client(args.scheduler, args.workers) as client:
        try:
            summary = autograde_distributed(
                args.assignment, client, args.student, extra, batch_size=args.batch_size,
                shared_fs=args.shared_fs, force=args.force, feedback=not args.no_feedback)
        except (FileNotFoundError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        workers = len(client.nthreads())
    for student, reason in sorted(summary["failed"].items()):
        print(f"\n--- {student}: grading failed twice (last lines of the log) ---\n{reason}",
              file=sys.stderr)
    print(f"\n{'student':<24} {'score':>8} {'max':>6}")
    for student, result in sorted(summary["results"].items()):
        if isinstance(result, tuple):
            print(f"{student:<24} {result[0]:>8.2f} {result[1]:>6.1f}")
        else:
            print(f"{student:<24} {'-':>8} {'':>6}  {result}")
    ungraded = [s for s, r in summary["results"].items() if not isinstance(r, tuple)]
    print(f"\n{len(summary['requested'])} submissions: {len(summary['graded'])} graded, "
          f"{len(summary['skipped'])} unchanged, {len(summary['failed'])} failed, "
          f"{len(ungraded)} without a complete grade; {workers} workers, "
          f"{'shared' if summary['shared_fs'] else 'no shared'} filesystem, "
          f"{summary['seconds']:.1f} s")
    return 1 if summary["failed"] or ungraded else 0


if __name__ == "__main__":
    sys.exit(main())
