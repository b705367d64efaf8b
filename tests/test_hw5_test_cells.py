"""The test cells of the hw5 notebooks, run directly (no nbgrader) on variants of nndl.

For each variant of the student files (the instructor's solution, solutions written
differently, the untouched release, specific bugs) the setup cell and every autograded
test cell of the source notebooks (with their hidden tests) run in one namespace, with
nndl.conv_layers and nndl.cnn replaced by the variant; the set of failing cells must be
exactly the expected one. (The trained-model cell needs a trained model and is covered by
tests/test_nbgrader_pipeline.py.)
"""
import importlib.util
import sys

import nbformat
import pytest

from grading.authoring import course

from grading.classroom import samples
from grading.classroom.alternatives import alternative_source
from grading.classroom.edits import replace_in_function
from grading.authoring.pysolutions import strip_solutions

SKIPPED = {'test_cifar10_model'}


def graded_ids():
    ids = []
    for name in course.NOTEBOOKS:
        nb = nbformat.read(course.SOURCE_DIR / f"{name}.ipynb", as_version=4)
        ids += [cell.metadata['nbgrader']['grade_id'] for cell in nb.cells
                if cell.metadata.get('nbgrader', {}).get('grade')
                and not cell.metadata['nbgrader'].get('solution')]
    return [grade_id for grade_id in ids if grade_id not in SKIPPED]


def run_test_cells():
    """{grade_id: None if the cell passed, else its error} over the three notebooks."""
    results = {}
    for name in course.NOTEBOOKS:
        nb = nbformat.read(course.SOURCE_DIR / f"{name}.ipynb", as_version=4)
        namespace = {'__name__': '__main__'}
        for cell in nb.cells:
            meta = cell.metadata.get('nbgrader', {})
            grade_id = meta.get('grade_id', '')
            if cell.cell_type != 'code' or grade_id in SKIPPED:
                continue
            if grade_id.endswith('_setup'):
                exec('\n'.join(line for line in cell.source.splitlines()
                               if not line.startswith('%')), namespace)
            elif meta.get('grade') and not meta.get('solution'):
                try:
                    exec(cell.source, namespace)
                    results[grade_id] = None
                except Exception as error:   # a failing test cell, as nbgrader sees it
                    results[grade_id] = f"{type(error).__name__}: {error}"
    return results


# The student's modules, in import order. Each test loads fresh copies of both, so that a
# variant of nndl.conv_layers is also what nndl.cnn may use, as in the student's folder
# (the provided modules never import them: tests/test_import_graph.py).
STUDENT_MODULES = ('nndl.conv_layers', 'nndl.cnn')


def install(monkeypatch, tmp_path, sources):
    """Load fresh STUDENT_MODULES, with the source text of ``sources`` where given."""
    for module in STUDENT_MODULES:
        relative = module.replace('.', '/') + '.py'
        text = sources.get(module, (course.REPO_ROOT / relative).read_text(encoding='utf-8'))
        path = tmp_path / f"{module.replace('.', '_')}.py"
        path.write_text(text, encoding='utf-8')
        spec = importlib.util.spec_from_file_location(module, path)
        loaded = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, module, loaded)
        spec.loader.exec_module(loaded)


def student_sources(edit=lambda relative, text: text):
    return {relative[:-3].replace('/', '.'): edit(relative, (course.REPO_ROOT / relative)
                                                  .read_text(encoding='utf-8'))
            for relative in course.STUDENT_FILES}


def failing(monkeypatch, tmp_path, sources):
    monkeypatch.chdir(course.REPO_ROOT)
    install(monkeypatch, tmp_path, sources)
    results = run_test_cells()
    assert sorted(results) == sorted(graded_ids())
    return {grade_id: error for grade_id, error in results.items() if error is not None}


def test_the_instructors_solution_passes_every_test_cell(monkeypatch, tmp_path):
    assert failing(monkeypatch, tmp_path, student_sources()) == {}


def test_solutions_written_differently_pass_every_test_cell(monkeypatch, tmp_path):
    sources = student_sources(lambda relative, text: alternative_source(text, relative))
    assert failing(monkeypatch, tmp_path, sources) == {}


def test_the_untouched_release_fails_every_test_cell(monkeypatch, tmp_path):
    sources = student_sources(lambda relative, text: strip_solutions(text, relative))
    errors = failing(monkeypatch, tmp_path, sources)
    assert sorted(errors) == sorted(graded_ids())
    assert all(error.startswith('NotImplementedError') for error in errors.values())


def with_bugs(bugs):
    def edit(relative, text):
        for file, function, old, new in bugs:
            if file == relative:
                text = replace_in_function(text, function, old, new)
        return text
    return student_sources(edit)


def test_the_partial_sample_fails_exactly_its_expected_cells(monkeypatch, tmp_path):
    errors = failing(monkeypatch, tmp_path, with_bugs(samples.PARTIAL_BUGS))
    assert sorted(errors) == sorted(samples.PARTIAL_FAILS)
    assert all(error.startswith('AssertionError: [') for error in errors.values())


@pytest.mark.parametrize('bug, expected', [
    # A forward pass that crashes on non-square kernels: the backward cell of that case
    # fails too, as it needs the cache of the student's own forward pass.
    (('nndl/conv_layers.py', 'conv_forward_naive', 'left:left + kernel_w', 'left:left + kernel_h'),
     {'test_conv_forward_nonsquare', 'test_conv_backward_nonsquare'}),
    # A wrong db costs the db cell only.
    (('nndl/conv_layers.py', 'conv_backward_naive', 'db = dout.sum(axis=(0, 2, 3))',
      'db = dout.sum(axis=(0, 2, 3)) / dout.shape[0]'),
     {'test_conv_backward_db'}),
    # A wrong dw costs the dw cells, not dx or db.
    (('nndl/conv_layers.py', 'conv_backward_naive', 'dw += np.tensordot(grad, window',
      'dw += 0.5 * np.tensordot(grad, window'),
     {'test_conv_backward_dw', 'test_conv_backward_stride', 'test_conv_backward_no_pad',
      'test_conv_backward_nonsquare', 'test_conv_backward_pairs'}),
    (('nndl/conv_layers.py', 'spatial_batchnorm_forward',
      'batchnorm_forward(columns, gamma, beta, bn_param)',
      "batchnorm_forward(columns, gamma, beta, dict(bn_param, mode='train'))"),
     # The model's batchnorm is the provided one (nndl.conv_layer_utils): not failed too.
     {'test_sbn_running_averages', 'test_sbn_forward_test_mode'}),
    (('nndl/conv_layers.py', 'conv_param_count', 'kernel_h * kernel_w', 'kernel_h * kernel_h'),
     {'test_param_count'}),
    (('nndl/cnn.py', 'loss', "reg_loss += 0.5 * self.reg", "reg_loss += self.reg"),
     {'test_cnn_loss'}),
])
def test_each_case_is_graded_on_its_own(monkeypatch, tmp_path, bug, expected):
    assert set(failing(monkeypatch, tmp_path, with_bugs([bug]))) == expected


def test_an_exception_in_a_hidden_check_names_the_case(monkeypatch, tmp_path):
    """Code that works on the visible test's batch of 2 and raises on another batch size:
    the message says which hidden case was running and what the code raised."""
    bug = ('nndl/conv_layers.py', 'conv_forward_naive', 'out[:, :, i, j] = np.tensordot',
           'out[[0, 1], :, i, j] = np.tensordot')
    errors = failing(monkeypatch, tmp_path, with_bugs([bug]))
    assert errors['test_conv_forward_basic'].startswith(
        "AssertionError: [hidden: x (1, 2, 4, 4), w (5, 2, 3, 3), stride 1, pad 1] "
        "conv_forward_naive raised IndexError: index 1 is out of bounds")
