"""The corpus of student files (tests/corpus) graded through nbgrader: exact score per cell.

One course directory: ``nbgrader generate_assignment hw5``, one submission per corpus entry
(the instructor's solution with the entry's ``nndl/conv_layers.py``) in submitted/,
``python -m grading.classroom.parallel hw5 --workers 2`` (stock ``nbgrader autograde`` processes,
sandboxed), then every entry's score of every autograded cell is read from the gradebook.
A correct implementation gets every point but those of the features it does not
implement; a bug loses exactly the cells of its feature. Measured: 26 minutes on the
shared 2-core machine under a load average of about 20 (not measured on an idle one).
"""
import ast
import subprocess
import sys

import nbformat
import pytest

import corpus
from grading.authoring import course
from grading.classroom import demo
from grading.authoring.nbbuild import graded_cells
from grading.classroom.samples import make_sample
from grading.sandbox.status import sandbox_status

works, reason = sandbox_status()
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not works, reason=f"sandbox unavailable: {reason}")]

MANUAL_CELLS = {'why_3x3', 'one_by_one', 'training_report'}


@pytest.fixture(scope='module')
def graded(tmp_path_factory, full_cifar10_dir):
    course_dir = demo.prepare_course(tmp_path_factory.mktemp('corpus'))
    env, _, full_data = demo.grading_env(full_cifar10_dir)
    demo.nbgrader(course_dir, 'generate_assignment', course.ASSIGNMENT, '--force', env=env)
    release = course_dir / 'release' / course.ASSIGNMENT
    for entry in corpus.entries():
        folder = make_sample('complete', release,
                             course_dir / 'submitted' / entry / course.ASSIGNMENT)
        (folder / 'nndl' / 'conv_layers.py').write_text(corpus.source(entry), encoding='utf-8')
    run = subprocess.run([sys.executable, '-m', 'grading.classroom.parallel', course.ASSIGNMENT,
                          '--workers', '2'], cwd=course_dir, env=env, capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return demo.cell_scores(course_dir, corpus.entries()), full_data


def test_the_corpus_has_the_kinds_of_entries_asked_for():
    assert len(corpus.BUGS) >= 20
    assert {'cs231n_int', 'ucla_hw5'} <= set(corpus.CORRECT)
    for entry in corpus.entries():
        imports = [node for node in ast.walk(ast.parse(corpus.source(entry)))
                   if isinstance(node, (ast.Import, ast.ImportFrom))]
        assert all((getattr(node, 'module', None) or node.names[0].name).split('.')[0] == 'numpy'
                   for node in imports), entry


def test_a_correct_int_only_implementation_keeps_at_least_85_percent():
    points = {}
    for name in course.NOTEBOOKS:
        points.update(graded_cells(nbformat.read(course.SOURCE_DIR / f"{name}.ipynb", 4)))
    lost = sum(points[cell] for cell in corpus.expected_failures('cs231n_int'))
    assert lost == sum(points[cell] for cell in corpus.PAIRS)
    assert lost <= 0.15 * sum(points.values())


@pytest.mark.parametrize('entry', corpus.entries())
def test_each_entry_gets_exactly_its_expected_score_in_every_cell(graded, entry):
    scores, full_data = graded
    failures = corpus.expected_failures(entry)
    got, expected = {}, {}
    for grade_id, (score, maximum) in scores[entry].items():
        if grade_id in MANUAL_CELLS:
            continue
        got[grade_id] = score
        passes = grade_id not in failures and (grade_id != 'test_cifar10_model' or full_data)
        expected[grade_id] = maximum if passes else 0
    assert got == expected
