"""Benchmark: autograde a class of hw5 submissions serially and in parallel.

    python benchmarks/bench_autograde.py                       # 100 submissions, 2 workers
    python benchmarks/bench_autograde.py --submissions 4 --workers 2 --json out.json

Builds a course like ``python -m grading.classroom.demo`` (this repository's nbgrader_config.py, so
every notebook runs in the sandbox), hands in ``--submissions`` generated submissions that
cycle through the samples of grading.classroom.samples (complete, partial, empty, edits_utils,
noisy, alternative: correct and buggy ones), and grades the same submissions

* serially: one stock ``nbgrader autograde hw5`` (every student in one process);
* in parallel: ``python -m grading.classroom.parallel hw5 --workers W`` for each W of ``--workers``,

each in its own copy of the course with a fresh gradebook. Prints wall time, seconds
per submission and speed-up, checks that every run gives every student the serial
grades, and optionally writes the figures as JSON. Results: docs/benchmarks-autograde.md.
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def build_course(course_dir, submissions, template=None):
    """A course with the release generated and ``submissions`` students handed in.

    With ``template`` (a course built before), its submitted/ folder is copied instead of
    generating the submissions again. Returns the sorted student ids.
    """
    from grading.classroom import demo
    from grading.classroom.samples import SAMPLES, make_sample

    course = demo.prepare_course(course_dir)
    env, _, _ = demo.grading_env()
    demo.nbgrader(course, "generate_assignment", "hw5", "--force", env=env)
    if template is not None:
        shutil.copytree(Path(template) / "submitted", course / "submitted", symlinks=True)
    else:
        release = course / "release" / "hw5"
        for i in range(submissions):
            kind = SAMPLES[i % len(SAMPLES)]
            make_sample(kind, release, course / "submitted" / f"s{i:03d}_{kind}" / "hw5")
    return sorted(p.name for p in (course / "submitted").iterdir())


def timed(cmd, course, env):
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=course, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return seconds


def totals(course, students):
    """{student: total autograded score} from the course's gradebook."""
    from grading.classroom import demo
    return {student: sum(score or 0 for score, _ in cells.values())
            for student, cells in demo.cell_scores(course, students).items()}


def run(submissions, workers, scratch):
    from grading.classroom import demo
    env, _, full_data = demo.grading_env()
    results = {"submissions": submissions, "machine": machine(), "full_cifar10": full_data,
               "runs": []}
    template = Path(scratch) / "serial"
    students = build_course(template, submissions)
    seconds = timed([sys.executable, "-m", "nbgrader", "autograde", "hw5"], template, env)
    serial = totals(template, students)
    results["runs"].append({"mode": "serial (nbgrader autograde hw5)", "workers": 1,
                            "seconds": seconds, "per_submission": seconds / submissions})
    print(f"serial: {seconds:.1f} s, {seconds / submissions:.2f} s per submission", flush=True)
    for w in workers:
        course = Path(scratch) / f"parallel{w}"
        build_course(course, submissions, template=template)
        seconds = timed([sys.executable, "-m", "grading.classroom.parallel", "hw5", "--workers", str(w)],
                        course, env)
        same = totals(course, students) == serial
        results["runs"].append({"mode": f"python -m grading.classroom.parallel hw5 --workers {w}",
                                "workers": w, "seconds": seconds,
                                "per_submission": seconds / submissions, "same_grades": same})
        print(f"{w} workers: {seconds:.1f} s, {seconds / submissions:.2f} s per submission, "
              f"same grades as serial: {same}", flush=True)
        if not same:
            raise RuntimeError(f"parallel run with {w} workers gave different grades")
    base = results["runs"][0]["seconds"]
    for entry in results["runs"]:
        entry["speedup"] = base / entry["seconds"]
    results["scores"] = sorted(set(serial.values()))
    return results


def machine():
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "load_average_at_start": load}


def table(results):
    lines = ["| mode | workers | wall (s) | s per submission | speed-up |",
             "|---|---|---|---|---|"]
    for r in results["runs"]:
        lines.append(f"| `{r['mode']}` | {r['workers']} | {r['seconds']:.1f} | "
                     f"{r['per_submission']:.2f} | {r['speedup']:.2f}x |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[2])
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--keep", help="build the courses in this folder and keep them")
    args = parser.parse_args(argv)
    if args.submissions < 1 or min(args.workers) < 1:
        parser.error("--submissions and --workers must be at least 1")
    with tempfile.TemporaryDirectory(prefix="bench-autograde-") as scratch:
        results = run(args.submissions, args.workers, args.keep or scratch)
    print()
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
