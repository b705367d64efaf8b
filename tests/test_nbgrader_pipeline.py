"""The instructor's cycle through stock nbgrader, with the exact grade of every sample.

One course directory (module fixture) goes through generate_assignment, autograde of every
sample submission of grading.classroom.samples, generate_feedback and export, as `python -m
grading.classroom.demo` does; the tests then read the gradebook, the autograded notebooks and the
feedback. The trained-model test needs the full CIFAR-10 test batch (the fixture
full_cifar10_dir finds or builds it); without it that test scores 0 for everyone, and the
expected grades say so.
"""
import filecmp
import html
import re

import nbformat
import pytest
from nbgrader.utils import determine_grade

from grading.authoring import course

from grading.classroom import demo, samples
from grading.sandbox.faults import METADATA_KEY, SECONDS_KEY
from grading.sandbox.stderr import GradeCellStderrToStdout

FULL_MARKS = 54          # autograded points of hw5
TRAINED_MODEL_POINTS = 4
MANUAL_CELLS = {'why_3x3', 'one_by_one', 'training_report'}


@pytest.fixture(scope='module')
def cycle(tmp_path_factory, full_cifar10_dir):
    course_dir = tmp_path_factory.mktemp('course')
    seconds, grades_csv = demo.run_cycle(course_dir, data_dir=full_cifar10_dir,
                                         log=lambda *args: None)
    _, _, full_data = demo.grading_env(full_cifar10_dir)
    return {'dir': course_dir, 'seconds': seconds, 'csv': grades_csv, 'full_data': full_data,
            'scores': demo.cell_scores(course_dir)}


def expected_score(student, grade_id, maximum, full_data):
    """What sample ``student`` must get on grade cell ``grade_id`` (None: graded by hand)."""
    if student in ('empty', 'edits_utils'):
        return 0            # nothing of the student's is written, answers included
    if grade_id in MANUAL_CELLS:
        return None         # written answers wait for the instructor
    if grade_id == 'test_cifar10_model' and not full_data:
        return 0            # no held-out images to grade the model on
    if student == 'partial' and grade_id in samples.PARTIAL_FAILS:
        return 0
    return maximum


def test_every_sample_gets_exactly_its_expected_grade_in_every_cell(cycle):
    for student, cells in cycle['scores'].items():
        got = {grade_id: score for grade_id, (score, _) in cells.items()}
        expected = {grade_id: expected_score(student, grade_id, maximum, cycle['full_data'])
                    for grade_id, (_, maximum) in cells.items()}
        assert got == expected, f"sample {student!r}"


def test_autograded_totals(cycle):
    missing = 0 if cycle['full_data'] else TRAINED_MODEL_POINTS
    partial_loss = 12    # the points of samples.PARTIAL_FAILS
    totals = {student: sum(score or 0 for grade_id, (score, _) in cells.items()
                           if grade_id not in MANUAL_CELLS)
              for student, cells in cycle['scores'].items()}
    assert totals == {'complete': FULL_MARKS - missing,
                      'partial': FULL_MARKS - partial_loss - missing,
                      'empty': 0, 'edits_utils': 0, 'noisy': FULL_MARKS - missing,
                      'alternative': FULL_MARKS - missing}
    maximum = sum(m for grade_id, (_, m) in cycle['scores']['complete'].items()
                  if grade_id not in MANUAL_CELLS)
    assert maximum == FULL_MARKS


def test_export_writes_the_grade_table(cycle):
    rows = cycle['csv'].read_text().splitlines()
    assert rows[0].startswith('assignment,duedate,timestamp,student_id')
    assert sorted(row.split(',')[3] for row in rows[1:]) == sorted(samples.SAMPLES)


def test_every_sample_is_graded_within_the_submission_budget(cycle):
    """No submission takes longer than the budget per submission (docs/sandbox.md); how
    long grading takes is measured by benchmarks/bench_grading_time.py, not here."""
    from traitlets.config.loader import PyFileConfigLoader
    from grading.sandbox.faults import FaultTolerantExecute
    config = PyFileConfigLoader(str(course.REPO_ROOT / 'nbgrader_config.py')).load_config()
    budget = FaultTolerantExecute(config=config).submission_timeout
    # the budget bounds the kernels; nbgrader's own start-up and bookkeeping come on top
    startup = 30
    for student, seconds in cycle['seconds'].items():
        assert seconds < budget + startup, f"{student}: {seconds:.0f} s"


def without_reference_times(path):
    """The notebook at ``path`` without the measured reference times of its cells."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        cell.metadata.get(METADATA_KEY, {}).pop(SECONDS_KEY, None)
        if METADATA_KEY in cell.metadata and not cell.metadata[METADATA_KEY]:
            del cell.metadata[METADATA_KEY]
    return nb


def same_release_file(fresh, committed):
    """Same bytes; for notebooks, the same but for the reference times (they are measured)."""
    if fresh.suffix == '.ipynb':
        return without_reference_times(fresh) == without_reference_times(committed)
    return filecmp.cmp(fresh, committed, shallow=False)


def test_the_release_in_the_repository_is_up_to_date(cycle):
    fresh = cycle['dir'] / 'release' / course.ASSIGNMENT
    files = sorted(p.relative_to(fresh).as_posix() for p in fresh.rglob('*') if p.is_file())
    committed = sorted(p.relative_to(course.RELEASE_DIR).as_posix()
                       for p in course.RELEASE_DIR.rglob('*')
                       if p.is_file() and '__pycache__' not in p.parts)
    assert files == committed, \
        "release/hw5 is out of date: run nbgrader generate_assignment hw5 --force"
    different = [name for name in files
                 if not same_release_file(fresh / name, course.RELEASE_DIR / name)]
    assert not different, (f"release/hw5 is out of date ({different}): "
                           f"run nbgrader generate_assignment hw5 --force")


def code_outputs(notebook_path, grade_id):
    nb = nbformat.read(notebook_path, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get('nbgrader', {}).get('grade_id') == grade_id)
    return cell


def test_the_kernel_grades_the_copy_of_nndl_in_the_submission(cycle):
    folder = cycle['dir'] / 'autograded' / 'complete' / course.ASSIGNMENT
    setup = code_outputs(folder / 'CNN.ipynb', 'cnn_setup')
    text = ''.join(output.get('text', '') for output in setup.outputs)
    assert f"nndl and utils come from {folder.resolve()}" in text


def test_student_edits_to_utils_are_overwritten_and_gain_nothing(cycle):
    folder = cycle['dir'] / 'autograded' / 'edits_utils' / course.ASSIGNMENT
    for relative in ('utils/checks.py', 'utils/gradient_check.py'):
        assert (folder / relative).read_bytes() == (course.REPO_ROOT / relative).read_bytes()
    assert all(score == 0 for score, _ in cycle['scores']['edits_utils'].values())


def test_a_warning_on_stderr_does_not_zero_a_passing_test_cell(cycle):
    folder = cycle['dir'] / 'autograded' / 'noisy' / course.ASSIGNMENT
    cell = code_outputs(folder / 'ConvolutionalNetworks.ipynb', 'test_conv_forward_basic')
    warned = [output for output in cell.outputs if 'a harmless warning' in output.get('text', '')]
    assert warned and all(output.name == 'stdout' for output in warned)
    assert determine_grade(cell)[0] == 2
    # As nbgrader saw it before GradeCellStderrToStdout: the same cell with its stderr scores 0.
    for output in warned:
        output.name = 'stderr'
    assert determine_grade(cell)[0] == 0
    GradeCellStderrToStdout().preprocess_cell(cell, {}, 0)
    assert determine_grade(cell)[0] == 2


def visible_text(html_path):
    """The text of a feedback page: tags removed, entities decoded."""
    return html.unescape(re.sub(r'<[^>]+>', '', html_path.read_text(encoding='utf-8')))


def test_feedback_explains_failures_without_showing_hidden_tests(cycle):
    hidden_names = {'reference_conv', 'reference_conv_backward', 'reference_pool',
                    'reference_pool_backward', 'reference_spatial_batchnorm',
                    'reference_scores', 'reference_gradients', 'heldout', 'mean_image'}
    for page in sorted((cycle['dir'] / 'feedback').rglob('*.html')):
        text = visible_text(page)
        shown = {name for name in hidden_names if re.search(rf'\b{name}\b', text)}
        assert not shown, f"{page} shows hidden test code: {shown}"
    partial = visible_text(cycle['dir'] / 'feedback' / 'partial' / course.ASSIGNMENT /
                           'ConvolutionalNetworks.html')
    # The visible tests are shown (the page text is searchable) and so are the messages.
    assert "# (hidden tests: not shown)" in partial
    assert "conv_forward_fast(x, w, b, conv_param)" in partial
    assert "[stride 2, pad 1] out is wrong" in partial
    assert "largest error |got - expected|" in partial


def test_with_the_instructors_nndl_on_pythonpath_only_the_students_code_is_graded(cycle):
    """PYTHONPATH puts the repository (with the solutions) before the submission's folder.
    The untouched release must still score 0: either the grading kernel does not see the
    repository (the sandbox of nbgrader_config.py), or the guard of the first cell and of
    every check stops every test ("not your copy", see tests/test_guard.py)."""
    env, _, _ = demo.grading_env()
    env['PYTHONPATH'] = str(course.REPO_ROOT)
    demo.nbgrader(cycle['dir'], 'autograde', course.ASSIGNMENT, '--student', 'empty',
                  '--force', env=env)
    scores = demo.cell_scores(cycle['dir'], students=['empty'])['empty']
    assert all(score == 0 for score, _ in scores.values())
    folder = cycle['dir'] / 'autograded' / 'empty' / course.ASSIGNMENT
    setup = code_outputs(folder / 'ConvolutionalNetworks.ipynb', 'conv_setup')
    text = ''.join(output.get('text', '') + output.get('evalue', '') for output in setup.outputs)
    assert f"come from {folder.resolve()}" in text or "not your copy" in text


def test_generate_assignment_records_the_reference_time_of_every_test_cell(cycle):
    """RecordReferenceTimes ran the solution: each test cell that passes on it has its time
    (the trained-model cell passes there only if a model and the full CIFAR-10 exist)."""
    release = cycle['dir'] / 'release' / course.ASSIGNMENT
    timed, untimed = {}, []
    for name in course.NOTEBOOKS:
        for cell in nbformat.read(release / f"{name}.ipynb", as_version=4).cells:
            meta = cell.metadata.get('nbgrader', {})
            if meta.get('grade') and not meta.get('solution'):
                seconds = cell.metadata.get(METADATA_KEY, {}).get(SECONDS_KEY)
                if seconds is None:
                    untimed.append(meta['grade_id'])
                else:
                    timed[meta['grade_id']] = seconds
    assert set(untimed) <= {'test_cifar10_model'}
    assert len(timed) + len(untimed) == 37
    assert all(0 < seconds < 30 for seconds in timed.values()), timed
