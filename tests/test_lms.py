"""An LMS download collected with stock `nbgrader zip_collect` and grading.classroom.lms.LmsCollector.

The zip is named and laid out the way Canvas writes a "Download Submissions" zip: one flat
folder, each file called lastfirst[_late]_<user id>_<submission id>_<name as uploaded>,
with -1 added before the extension of a file uploaded again.
"""
import re
import subprocess
import sys
import zipfile

import pytest

from grading.authoring import course

from grading.classroom import demo, samples
from grading.classroom.lms import MOODLE_PATTERN, LmsCollector, expected_files, split_copy_number

HANDED_IN = [*course.STUDENT_FILES, *(f"{n}.ipynb" for n in course.NOTEBOOKS), course.MODEL_FILE]


def canvas_name(name, user_id, filename, late=False, submission_id=7000000):
    return f"{name}_{'late_' if late else ''}{user_id}_{submission_id + user_id}_{filename}"


@pytest.fixture(scope='module')
def collected(tmp_path_factory):
    """A course directory after `nbgrader zip_collect hw5` of a Canvas-named zip."""
    course_dir = demo.prepare_course(tmp_path_factory.mktemp('lms_course'))
    (course_dir / 'release').symlink_to(course.REPO_ROOT / 'release', target_is_directory=True)
    work = tmp_path_factory.mktemp('students')
    complete = samples.make_sample('complete', course.RELEASE_DIR, work / 'complete')
    partial = samples.make_sample('partial', course.RELEASE_DIR, work / 'partial')
    entries = {}
    # 1001: everything, once.
    for relative in HANDED_IN:
        entries[canvas_name('doejane', 1001, relative.split('/')[-1])] = complete / relative
    # 1002: late; uploaded the buggy conv_layers.py, then the fixed one (Canvas: -1), a
    # notes file, and a zip of the folder with cnn.py, a provided file, a checkpoint and
    # the datasets; no model.
    entries[canvas_name('roerichard', 1002, 'conv_layers.py', late=True)] = \
        partial / 'nndl/conv_layers.py'
    entries[canvas_name('roerichard', 1002, 'conv_layers-1.py', late=True)] = \
        complete / 'nndl/conv_layers.py'
    for name in course.NOTEBOOKS:
        entries[canvas_name('roerichard', 1002, f'{name}.ipynb', late=True)] = \
            partial / f'{name}.ipynb'
    notes = work / 'notes.txt'
    notes.write_text("I could not finish the training\n")
    entries[canvas_name('roerichard', 1002, 'notes.txt', late=True)] = notes
    folder_zip = work / 'hw5.zip'
    with zipfile.ZipFile(folder_zip, 'w') as upload:
        upload.write(partial / 'nndl/cnn.py', 'hw5/nndl/cnn.py')
        upload.write(partial / 'utils/checks.py', 'hw5/utils/checks.py')
        upload.write(partial / 'CNN.ipynb', 'hw5/.ipynb_checkpoints/CNN-checkpoint.ipynb')
        upload.writestr('hw5/datasets/cifar-10-batches-py/data_batch_1', b'\0' * 1000)
    entries[canvas_name('roerichard', 1002, 'hw5.zip', late=True)] = folder_zip
    archive = course_dir / 'downloaded' / course.ASSIGNMENT / 'archive'
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / 'submissions.zip', 'w') as download:
        for name, path in entries.items():
            download.write(path, name)
    result = subprocess.run([sys.executable, '-m', 'nbgrader', 'zip_collect',
                             course.ASSIGNMENT], cwd=course_dir, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return {'dir': course_dir, 'log': result.stdout + result.stderr,
            'complete': complete, 'partial': partial}


def submitted(collected, student):
    folder = collected['dir'] / 'submitted' / student / course.ASSIGNMENT
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob('*') if p.is_file())


def test_every_file_goes_back_to_its_place(collected):
    assert submitted(collected, '1001') == sorted(HANDED_IN)
    folder = collected['dir'] / 'submitted' / '1001' / course.ASSIGNMENT
    for relative in HANDED_IN:
        assert (folder / relative).read_bytes() == (collected['complete'] / relative).read_bytes()


def test_the_newest_upload_is_collected_and_the_rest_reported(collected):
    folder = collected['dir'] / 'submitted' / '1002' / course.ASSIGNMENT
    assert submitted(collected, '1002') == sorted([*course.STUDENT_FILES,
                                                   *(f"{n}.ipynb" for n in course.NOTEBOOKS)])
    assert (folder / 'nndl/conv_layers.py').read_bytes() == \
        (collected['complete'] / 'nndl/conv_layers.py').read_bytes()
    assert (folder / 'nndl/cnn.py').read_bytes() == \
        (collected['partial'] / 'nndl/cnn.py').read_bytes()
    report = (collected['dir'] / 'downloaded' / course.ASSIGNMENT / 'report.txt').read_text()
    lines = report.splitlines()
    assert all(line.startswith('1002 (roerichard): ') for line in lines), report
    problems = sorted(line.split(': ', 1)[1].split(' (')[0].split(': ')[0] for line in lines)
    tail = 'submissions/roerichard_late_1002_7001002_'
    assert problems == sorted([
        f'could not place {tail}notes.txt',
        f'not collected {tail}conv_layers.py',
        f'left out {tail}hw5/hw5/.ipynb_checkpoints/CNN-checkpoint.ipynb',
        f'left out {tail}hw5/hw5/datasets/cifar-10-batches-py/data_batch_1',
        f'missing {course.MODEL_FILE}']), report
    assert f'missing {course.MODEL_FILE}' in collected['log']
    assert 'conv_layers-1.py is newer' in report


def test_canvas_and_moodle_names():
    plugin = LmsCollector()
    assert split_copy_number('conv_layers-2.py') == ('conv_layers.py', 2)
    assert split_copy_number('CNN (1).ipynb') == ('CNN.ipynb', 1)
    assert split_copy_number('cifar10_cnn.npz') == ('cifar10_cnn.npz', 0)
    canvas = re.match(plugin.named_regexp, 'smithjohn_LATE_42_99_cnn.py')
    assert (canvas['name'], canvas['user_id'], canvas['filename']) == ('smithjohn', '42', 'cnn.py')
    moodle = re.match(MOODLE_PATTERN, 'John Smith_42_assignsubmission_file_/nndl/cnn.py')
    assert (moodle['name'], moodle['user_id'], moodle['filename']) == \
        ('John Smith', '42', 'nndl/cnn.py')
    assert expected_files()['conv_layers.py'] == 'nndl/conv_layers.py'


def test_moodle_download_through_the_plugin(tmp_path):
    plugin = LmsCollector(named_regexp=MOODLE_PATTERN, student_id='name')
    flat = tmp_path / 'extracted'
    (flat / 'Ann Lee_7_assignsubmission_file_').mkdir(parents=True)
    (flat / 'Ann Lee_7_assignsubmission_file_' / 'cnn.py').write_text('x = 1\n')
    (flat / 'Ann Lee_7_assignsubmission_file_CNN.ipynb').write_text('{}')
    plugin.extracted_root = flat
    info = plugin.collect(str(flat / 'Ann Lee_7_assignsubmission_file_' / 'cnn.py'))
    assert info == {'student_id': 'Ann Lee', 'file_id': 'nndl/cnn.py'}
    assert plugin.collect(str(flat / 'Ann Lee_7_assignsubmission_file_CNN.ipynb')) == \
        {'student_id': 'Ann Lee', 'file_id': 'CNN.ipynb'}
    assert 'missing nndl/conv_layers.py' in plugin.report['Ann Lee']
