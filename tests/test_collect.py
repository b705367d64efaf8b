"""`nbgrader collect` with the course's CheckedCollect and CourseDirectory settings.

The exchange's inbound folder is written as `nbgrader submit` leaves it
(<student>+hw5+<timestamp>+<random>/); large files are sparse, so nothing big is written.
"""
import os
import shutil
import subprocess
import sys

import pytest
from nbgrader.utils import ignore_patterns

from grading.authoring import course

from grading.classroom import demo
from grading.classroom.exchange import copied_files

TIMESTAMP = '2026-11-30 10:00:00.000000 UTC'
COMPLETE = [*course.STUDENT_FILES, *(f"{n}.ipynb" for n in course.NOTEBOOKS), course.MODEL_FILE]


def environment():
    """This environment's bin folder first on PATH: nbgrader runs `alembic` from there."""
    return dict(os.environ, PATH=os.pathsep.join([os.path.dirname(sys.executable),
                                                  os.environ.get('PATH', '')]))


def submission(inbound, student, files, timestamp=TIMESTAMP):
    """A submitted folder: {relative path: size in bytes} (sparse files)."""
    folder = inbound / f"{student}+{course.ASSIGNMENT}+{timestamp}+x{student}"
    for relative, size in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, 'wb') as out:
            out.truncate(size)
    (folder / 'timestamp.txt').write_text(timestamp)
    return folder


def collect(course_dir, exchange, *args):
    return subprocess.run([sys.executable, '-m', 'nbgrader', 'collect', course.ASSIGNMENT,
                           f'--Exchange.root={exchange}', *args], cwd=course_dir,
                          capture_output=True, text=True, env=environment())


@pytest.fixture(scope='module')
def collected(tmp_path_factory):
    course_dir = demo.prepare_course(tmp_path_factory.mktemp('collect_course'))
    exchange = tmp_path_factory.mktemp('exchange')
    inbound = exchange / 'nndl' / 'inbound'
    inbound.mkdir(parents=True)
    small = {name: 1000 for name in COMPLETE}
    submission(inbound, 'ok', small)
    submission(inbound, 'data', {**small, 'datasets/cifar-10-batches-py/data_batch_1': 31_000_000,
                                 'datasets/cifar-10-python.tar.gz': 170_000_000,
                                 'checkpoint.npz': 25_000_000})
    submission(inbound, 'big', {**small, **{f"runs/run{i}.npz": 18_000_000 for i in range(3)}})
    submission(inbound, 'flat', {'conv_layers.py': 1000, 'cnn.py': 1000, 'CNN.ipynb': 1000})
    result = collect(course_dir, exchange)
    return {'dir': course_dir, 'result': result, 'log': result.stdout + result.stderr}


def submitted(collected, student):
    folder = collected['dir'] / 'submitted' / student / course.ASSIGNMENT
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob('*') if p.is_file())


def test_an_oversized_submission_is_reported_not_copied_and_the_rest_collected(collected):
    assert collected['result'].returncode == 1, collected['log']
    assert ("big: NOT COLLECTED, the submission is 54.0 MB, more than "
            "CourseDirectory.max_dir_size (50 MB)") in collected['log']
    assert 'runs/run0.npz (18.0 MB)' in collected['log']
    assert 'not collected (too large, see above): big' in collected['log']
    assert not (collected['dir'] / 'submitted' / 'big').exists()
    assert submitted(collected, 'ok') == sorted([*COMPLETE, 'timestamp.txt'])


def test_datasets_and_large_files_are_left_out_and_said_so(collected):
    assert submitted(collected, 'data') == sorted([*COMPLETE, 'timestamp.txt'])
    assert "data: left out checkpoint.npz, datasets/" in collected['log']


def test_missing_student_files_are_reported(collected):
    assert submitted(collected, 'flat') == ['CNN.ipynb', 'cnn.py', 'conv_layers.py',
                                            'timestamp.txt']
    assert ("flat: the submission has no nndl/conv_layers.py, nndl/cnn.py; its tests will "
            "score 0") in collected['log']
    assert 'ok: the submission has no' not in collected['log']


def test_copied_files_agrees_with_nbgraders_copy(tmp_path):
    folder = submission(tmp_path, 'x', {'a.py': 10, 'nndl/cnn.py': 10, 'big.bin': 3000,
                                        '__pycache__/a.pyc': 10, 'datasets/y': 10})
    copied, left_out = copied_files(folder, ['__pycache__', 'datasets'], ['*'], 2)
    assert copied == ['a.py', 'nndl/cnn.py', 'timestamp.txt']
    assert left_out == ['__pycache__/', 'big.bin', 'datasets/']

    shutil.copytree(folder, tmp_path / 'copy',
                    ignore=ignore_patterns(['__pycache__', 'datasets'], ['*'], 2))
    assert sorted(p.relative_to(tmp_path / 'copy').as_posix()
                  for p in (tmp_path / 'copy').rglob('*') if p.is_file()) == copied


def test_an_oversized_resubmission_keeps_the_copy_collected_before(tmp_path):
    """collect --update with a newer submission over max_dir_size: reported, not copied,
    and the earlier collected copy is still there (stock nbgrader deletes it first)."""
    course_dir = demo.prepare_course(tmp_path / 'course')
    inbound = tmp_path / 'exchange' / 'nndl' / 'inbound'
    inbound.mkdir(parents=True)
    submission(inbound, 'ann', {name: 1000 for name in COMPLETE})
    first = collect(course_dir, tmp_path / 'exchange')
    assert first.returncode == 0, first.stdout + first.stderr
    later = '2026-12-01 09:00:00.000000 UTC'
    submission(inbound, 'ann', {**{name: 1000 for name in COMPLETE},
                                **{f"runs/run{i}.npz": 18_000_000 for i in range(3)}}, later)
    update = collect(course_dir, tmp_path / 'exchange', '--update')
    log = update.stdout + update.stderr
    assert update.returncode == 1, log
    assert "ann: NOT COLLECTED, the submission is 54.0 MB" in log
    folder = course_dir / 'submitted' / 'ann' / course.ASSIGNMENT
    assert (folder / 'timestamp.txt').read_text() == TIMESTAMP
    assert all((folder / name).is_file() for name in COMPLETE)
