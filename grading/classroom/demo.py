"""The instructor's whole cycle for hw5, with stock nbgrader commands, on sample submissions.

    python -m grading.classroom.demo [--course-dir DIR] [--data-dir DIR] [--grades-csv FILE]

In a fresh course directory (a temporary one unless --course-dir is given) that uses this
repository's nbgrader_config.py and source/, it runs

    nbgrader generate_assignment hw5
    (copies the sample submissions of grading.classroom.samples into submitted/<sample>/hw5)
    nbgrader autograde hw5 --student <sample>        (one at a time, timed)
    nbgrader generate_feedback hw5
    nbgrader export

then prints the points of every sample per exercise and writes grades.csv. The trained
model is graded on CIFAR-10 test images read from --data-dir (default: $NNDL_DATA, else
datasets/); without the full CIFAR-10 there, that test scores 0 and the demo says so.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict
from pathlib import Path

from grading.authoring import course
from grading.classroom.samples import SAMPLES, make_sample

# Exercises of the grade table: a name and the grade cells it groups (by id prefix).
EXERCISES = OrderedDict([
    ('output size, param count', ('test_output_size', 'test_param_count')),
    ('conv forward', ('test_conv_forward_',)),
    ('conv backward', ('test_conv_backward_',)),
    ('max pool forward', ('test_max_pool_forward_',)),
    ('max pool backward', ('test_max_pool_backward_',)),
    ('avg pool forward', ('test_avg_pool_forward_',)),
    ('avg pool backward', ('test_avg_pool_backward_',)),
    ('pooling with (h, w) pairs', ('test_max_pool_pairs', 'test_avg_pool_pairs')),
    ('spatial batchnorm forward', ('test_sbn_forward_', 'test_sbn_running_')),
    ('spatial batchnorm backward', ('test_sbn_backward_',)),
    ('ThreeLayerConvNet', ('test_cnn_',)),
    ('trained CIFAR-10 model', ('test_cifar10_model',)),
    ('written answers (by hand)', ('why_3x3', 'one_by_one', 'training_report')),
])


def nbgrader(course_dir, *args, env=None):
    """Run one nbgrader command in ``course_dir``; raise with its log if it fails."""
    result = subprocess.run([sys.executable, '-m', 'nbgrader', *args], cwd=course_dir, env=env,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed (exit {result.returncode}):\n"
                           f"{result.stdout[-3000:]}\n{result.stderr[-6000:]}")
    return result


def prepare_course(course_dir, repo_root=course.REPO_ROOT):
    """A course directory using the source/ and nbgrader_config.py of ``repo_root`` (this
    repository, or a copy of it)."""
    course_dir, repo_root = Path(course_dir), Path(repo_root)
    course_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(repo_root / 'nbgrader_config.py', course_dir / 'nbgrader_config.py')
    source = course_dir / 'source'
    if not source.exists():
        source.symlink_to(repo_root / 'source', target_is_directory=True)
    return course_dir


def grading_env(data_dir=None):
    """The environment of the nbgrader commands: NNDL_DATA set to the held-out data.

    That is the data directory if it holds CIFAR-10 (by default the first place the
    loaders search that does); otherwise the repository's data_sample, whose few test
    images cannot grade the model (it scores 0), so that autograde, which refuses to
    start without held-out data, still runs.
    """
    from utils.data_utils import (CIFAR10_DIRNAME, DATA_DIR_ENV_VAR, SAMPLE_DATA_DIR,
                                  data_search_dirs, resolve_data_dir)
    env = dict(os.environ)
    if data_dir is None:   # the first place the loaders search that holds CIFAR-10
        holding = [folder for folder in data_search_dirs()
                   if (folder / CIFAR10_DIRNAME / 'test_batch').is_file()]
        data_dir = holding[0] if holding else None
    data_dir = resolve_data_dir(data_dir)
    full_data = (data_dir / CIFAR10_DIRNAME / 'test_batch').is_file()
    env[DATA_DIR_ENV_VAR] = str(data_dir if full_data else SAMPLE_DATA_DIR)
    return env, data_dir, full_data


def run_cycle(course_dir, students=SAMPLES, data_dir=None, log=print):
    """generate_assignment, samples, autograde (timed per student), feedback, export.

    Returns (seconds per student's autograde, path of grades.csv).
    """
    course_dir = prepare_course(course_dir)
    env, data_dir, full_data = grading_env(data_dir)
    if not full_data:
        log(f"note: no full CIFAR-10 in {data_dir}: the trained model cannot be graded on "
            f"held-out images and scores 0 (python -m utils.download cifar10, or --data-dir)")
    log("$ nbgrader generate_assignment hw5 --force")
    nbgrader(course_dir, 'generate_assignment', course.ASSIGNMENT, '--force', env=env)
    release = course_dir / 'release' / course.ASSIGNMENT
    for student in students:
        make_sample(student, release, course_dir / 'submitted' / student / course.ASSIGNMENT)
    seconds = {}
    for student in students:
        log(f"$ nbgrader autograde hw5 --student {student} --force")
        start = time.perf_counter()
        nbgrader(course_dir, 'autograde', course.ASSIGNMENT, '--student', student, '--force',
                 env=env)
        seconds[student] = time.perf_counter() - start
    log("$ nbgrader generate_feedback hw5 --force")
    nbgrader(course_dir, 'generate_feedback', course.ASSIGNMENT, '--force', env=env)
    log("$ nbgrader export")
    nbgrader(course_dir, 'export', env=env)
    return seconds, course_dir / 'grades.csv'


def cell_scores(course_dir, students=SAMPLES):
    """{student: {grade_id: (score or None, max_score)}} from the course's gradebook."""
    from nbgrader.api import Gradebook
    url = f"sqlite:///{Path(course_dir).resolve() / 'gradebook.db'}"
    scores = {}
    with Gradebook(url) as gradebook:
        for student in students:
            submission = gradebook.find_submission(course.ASSIGNMENT, student)
            scores[student] = {grade.name: (None if grade.needs_manual_grade else grade.score,
                                            grade.max_score)
                               for notebook in submission.notebooks for grade in notebook.grades}
    return scores


def exercise_of(grade_id):
    for name, prefixes in EXERCISES.items():
        if grade_id.startswith(prefixes):
            return name
    raise ValueError(f"grade cell {grade_id!r} belongs to no exercise of the table")


def grade_table(scores):
    """The per-exercise, per-student table as text (manual cells: '?' until graded)."""
    students = list(scores)
    rows = []
    for exercise in EXERCISES:
        row = [exercise]
        for student in students:
            cells = [value for grade_id, value in scores[student].items()
                     if exercise_of(grade_id) == exercise]
            got = [score for score, _ in cells if score is not None]
            total = sum(maximum for _, maximum in cells)
            pending = len(got) < len(cells)
            row.append(f"{'?' if pending and not got else f'{sum(got):g}'}"
                       f"{'+?' if pending and got else ''}/{total:g}")
        rows.append(row)
    auto = ['autograded total']
    for student in students:
        cells = [(score, maximum) for grade_id, (score, maximum) in scores[student].items()
                 if not exercise_of(grade_id).startswith('written')]
        auto.append(f"{sum(score or 0 for score, _ in cells):g}/{sum(m for _, m in cells):g}")
    rows.append(auto)
    header = ['exercise'] + students
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    lines = ['  '.join(str(value).ljust(width) if i == 0 else str(value).rjust(width)
                       for i, (value, width) in enumerate(zip(row, widths)))
             for row in [header] + rows]
    lines.insert(1, '-' * len(lines[0]))
    lines.insert(len(lines) - 1, '-' * len(lines[0]))
    return '\n'.join(lines)


def integrity_summary(course_dir):
    """The integrity reports of the autograde (grading.sandbox.judge), one line per problem."""
    from grading.sandbox.judge import read_reports
    reports = read_reports(course_dir, course.ASSIGNMENT)
    lines = [f"  {student}: {e['notebook']}, cell {e['cell']}: {e['detail']}"
             for student, entries in reports.items() for e in entries]
    if not lines:
        return "integrity: no submission broke a rule of the grader\n"
    return "integrity problems (integrity/hw5/<student>.json):\n" + "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m grading.classroom.demo', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--course-dir', help="course directory to use and keep "
                                             "(default: a temporary one, removed at the end)")
    parser.add_argument('--data-dir', help="data directory holding cifar-10-batches-py/")
    parser.add_argument('--grades-csv', default='grades.csv',
                        help="where to copy nbgrader's grades.csv (default: ./grades.csv)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix='hw5-course-') as scratch:
        course_dir = Path(args.course_dir or scratch).absolute()
        print(f"course directory: {course_dir}")
        seconds, csv = run_cycle(course_dir, data_dir=args.data_dir)
        print()
        print(grade_table(cell_scores(course_dir)))
        print()
        print(integrity_summary(course_dir))
        for student, elapsed in seconds.items():
            print(f"autograde of {student}: {elapsed:.1f} s")
        shutil.copyfile(csv, args.grades_csv)
        print(f"grades written to {Path(args.grades_csv).absolute()} (nbgrader export)")
        if args.course_dir:
            print(f"feedback: {course_dir / 'feedback'}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
