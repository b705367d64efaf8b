"""Benchmark: seconds to autograde one hw5 submission, by kind of submission.

    python benchmarks/bench_grading_time.py                  # every kind, once each
    python benchmarks/bench_grading_time.py --kinds complete hanging --repeat 3 --json out.json

Builds a course like ``python -m grading.classroom.demo`` (this repository's nbgrader_config.py:
sandboxed kernels, reference-time cell limits, the per-submission budget), hands in one
submission per kind and grades each alone with a stock ``nbgrader autograde hw5 --student
KIND`` (``--repeat`` times), timing the whole command. Kinds:

- complete, partial, empty: the samples of grading.classroom.samples;
- hanging: complete, but conv_forward_naive never returns (an endless loop);
- deaf: complete, but conv_forward_naive ignores the interrupt and never returns;
- memory_hog: complete, but conv_forward_naive allocates until it gets MemoryError;
- fork_bomb: complete, but conv_forward_naive forks until the process limit stops it.

Prints the median seconds per kind and the autograded points; results with the machine
and command: docs/benchmarks-autograde.md.
"""
import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

APPENDED = {  # code appended to the complete sample's nndl/conv_layers.py
    'hanging': '''

def conv_forward_naive(x, w, b, conv_param):
    while True:
        pass
''',
    'deaf': '''

def conv_forward_naive(x, w, b, conv_param):
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        pass
''',
    'memory_hog': '''

def conv_forward_naive(x, w, b, conv_param):
    hog = []
    while True:
        hog.append(np.ones(2**24))
''',
    'fork_bomb': '''

def conv_forward_naive(x, w, b, conv_param):
    import os
    while True:
        os.fork()
''',
}
KINDS = ('complete', 'partial', 'empty', *APPENDED)


def build_course(course_dir, kinds):
    from grading.classroom import demo
    from grading.classroom.samples import make_sample

    course = demo.prepare_course(course_dir)
    env, _, _ = demo.grading_env()
    demo.nbgrader(course, 'generate_assignment', 'hw5', '--force', env=env)
    release = course / 'release' / 'hw5'
    for kind in kinds:
        folder = make_sample(kind if kind not in APPENDED else 'complete', release,
                             course / 'submitted' / kind / 'hw5')
        if kind in APPENDED:
            module = folder / 'nndl' / 'conv_layers.py'
            module.write_text(module.read_text(encoding='utf-8') + APPENDED[kind],
                              encoding='utf-8')
    return course, env


def grade(course, env, kind):
    """Seconds of one `nbgrader autograde hw5 --student KIND --force`."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, '-m', 'nbgrader', 'autograde', 'hw5', '--student',
                             kind, '--force'], cwd=course, env=env, capture_output=True,
                            text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"autograde of {kind} failed:\n{result.stderr[-3000:]}")
    return seconds


def load_average():
    try:
        return Path('/proc/loadavg').read_text().split()[0]
    except OSError:
        return '?'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--kinds', nargs='+', default=list(KINDS), choices=KINDS)
    parser.add_argument('--repeat', type=int, default=1)
    parser.add_argument('--json', help="write the figures to this file")
    args = parser.parse_args(argv)
    from grading.classroom import demo

    results = {'machine': f"{platform.machine()}, {platform.python_version()}",
               'load_average_at_start': load_average(), 'kinds': {}}
    with tempfile.TemporaryDirectory(prefix='bench-grading-') as scratch:
        course, env = build_course(Path(scratch) / 'course', args.kinds)
        for kind in args.kinds:
            times = [grade(course, env, kind) for _ in range(args.repeat)]
            cells = demo.cell_scores(course, [kind])[kind]
            points = sum(score or 0 for grade_id, (score, _) in cells.items()
                         if demo.exercise_of(grade_id) != 'written answers (by hand)')
            results['kinds'][kind] = {'seconds': times, 'median': statistics.median(times),
                                      'points': points}
            print(f"{kind:<12} median {statistics.median(times):7.1f} s  "
                  f"({', '.join(f'{t:.1f}' for t in times)})  {points:g} points", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
