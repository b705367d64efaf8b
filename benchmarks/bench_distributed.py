"""Benchmark: autograde hw5 on dask.distributed, and project the time for a large class.

    python benchmarks/bench_distributed.py                        # 100 submissions, 1 and 2 workers
    python benchmarks/bench_distributed.py --submissions 20 --workers 1 2 --json out.json

For each count of ``--workers``, builds a course like ``python -m grading.classroom.demo`` (this
repository's nbgrader_config.py: every notebook in the sandbox) with ``--submissions``
generated hw5 submissions (benchmarks/bench_autograde.py's course, the samples of
grading.classroom.samples) and a fresh SQLite gradebook, starts a LocalCluster of that many
single-threaded worker processes and grades every submission with
``grading.classroom.distributed.autograde_distributed`` (tasks of ``--batch-size`` students). Every
run must give every student the grades of the first run.

Then measures the scheduler's cost per task: ``--noop-tasks`` tasks that do nothing,
submitted at once to each cluster, wall time divided by the count.

The projection: a class of N students on W workers takes about
``per_submission x N / W + noop_per_task x N / batch_size + start``, where per_submission
is the 1-worker run's seconds per submission (one worker's grading throughput) and start
the fixed cost of a run (detecting the filesystem, shipping the course, the last tasks
finishing unevenly), taken as the run with the most workers' wall time minus
per_submission x submissions / workers.
Results: docs/distributed.md.
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_autograde import build_course, machine, totals  # noqa: E402  (one course builder)

CLASSES = (1000, 10000)
WORKERS = (8, 32, 128)


def noop_cost(client, count):
    """Seconds per no-op task, ``count`` tasks submitted at once and gathered."""
    from distributed import wait
    from grading.classroom.distributed import noop
    start = time.perf_counter()
    futures = [client.submit(noop, i, pure=False) for i in range(count)]
    wait(futures)
    seconds = time.perf_counter() - start
    del futures
    return seconds / count


def run(submissions, workers, batch_size, noop_tasks, scratch):
    from distributed import Client, LocalCluster
    from grading.classroom import demo
    from grading.classroom.distributed import autograde_distributed

    env, _, full_data = demo.grading_env()
    os.environ.update(env)  # the LocalCluster's workers inherit it
    results = {"submissions": submissions, "batch_size": batch_size, "machine": machine(),
               "full_cifar10": full_data, "runs": []}
    template, reference = None, None
    for w in workers:
        course = Path(scratch) / f"workers{w}"
        students = build_course(course, submissions, template=template)
        template = template or course
        with LocalCluster(n_workers=w, threads_per_worker=1, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            start = time.perf_counter()
            summary = autograde_distributed("hw5", client, course_dir=str(course),
                                            batch_size=batch_size, progress=False)
            seconds = time.perf_counter() - start
            per_task = noop_cost(client, noop_tasks)
        if summary["failed"] or len(summary["graded"]) != submissions:
            raise RuntimeError(f"{w} workers: not every submission was graded: {summary['failed']}")
        grades = totals(course, students)
        reference = reference or grades
        same = grades == reference
        results["runs"].append({"workers": w, "seconds": seconds,
                                "per_submission": seconds / submissions,
                                "noop_per_task": per_task, "tasks": len(summary["runs"]),
                                "same_grades": same})
        print(f"{w} workers: {seconds:.1f} s, {seconds / submissions:.2f} s per submission, "
              f"{len(summary['runs'])} tasks; no-op task {per_task * 1000:.2f} ms; "
              f"same grades as the first run: {same}", flush=True)
        if not same:
            raise RuntimeError(f"{w} workers gave other grades than {workers[0]}")
    results["projection"] = projection(results)
    return results


def projection(results):
    """Projected hours for CLASSES students on WORKERS workers (see the module docstring)."""
    one = min(results["runs"], key=lambda r: r["workers"])
    most = max(results["runs"], key=lambda r: r["workers"])
    per_submission = one["seconds"] / results["submissions"]  # one worker's throughput
    start = max(0.0, most["seconds"] - per_submission * results["submissions"] / most["workers"])
    per_task = max(r["noop_per_task"] for r in results["runs"])
    rows = []
    for n in CLASSES:
        for w in WORKERS:
            seconds = per_submission * n / w + per_task * n / results["batch_size"] + start
            rows.append({"students": n, "workers": w, "seconds": seconds})
    return {"per_submission": per_submission, "start": start, "noop_per_task": per_task,
            "rows": rows}


def tables(results):
    lines = ["| workers | wall (s) | s per submission | speed-up | tasks | no-op task (ms) |",
             "|---|---|---|---|---|---|"]
    base = results["runs"][0]["seconds"]
    for r in results["runs"]:
        lines.append(f"| {r['workers']} | {r['seconds']:.1f} | {r['per_submission']:.2f} | "
                     f"{base / r['seconds']:.2f}x | {r['tasks']} | {r['noop_per_task'] * 1000:.2f} |")
    p = results["projection"]
    lines += ["", f"Projection: {p['per_submission']:.2f} s per submission x N / W + "
                  f"{p['noop_per_task'] * 1000:.2f} ms x N / {results['batch_size']} (scheduler) + "
                  f"{p['start']:.1f} s (start)", "",
              "| students | " + " | ".join(f"{w} workers" for w in WORKERS) + " |",
              "|---|" + "---|" * len(WORKERS)]
    for n in CLASSES:
        cells = [f"{r['seconds'] / 60:.1f} min" for r in p["rows"] if r["students"] == n]
        lines.append(f"| {n:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--noop-tasks", type=int, default=2000)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--keep", help="build the courses in this folder and keep them")
    args = parser.parse_args(argv)
    if min(args.submissions, args.batch_size, args.noop_tasks, *args.workers) < 1:
        parser.error("--submissions, --workers, --batch-size and --noop-tasks must be at least 1")
    with tempfile.TemporaryDirectory(prefix="bench-distributed-") as scratch:
        results = run(args.submissions, args.workers, args.batch_size, args.noop_tasks,
                      args.keep or scratch)
    print()
    print(tables(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
