"""The guard of the hw5 notebooks: tests never pass on another copy of nndl than the
student's, even if one comes first on the kernel's sys.path (here: PYTHONPATH pointing at
this repository, whose nndl holds the solutions)."""
import os
import shutil

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from grading.authoring import course


def cell_source(notebook, grade_id):
    nb = nbformat.read(course.RELEASE_DIR / notebook, as_version=4)
    return next(cell.source for cell in nb.cells
                if cell.metadata.get('nbgrader', {}).get('grade_id') == grade_id)


def run_cells(folder, sources, env):
    nb = new_notebook(cells=[new_code_cell(source) for source in sources])
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3',
                                 'language': 'python'}
    NotebookClient(nb, timeout=60, allow_errors=True,
                   resources={'metadata': {'path': str(folder)}}).execute(env=env)
    return nb.cells


def errors(cell):
    return [output for output in cell.outputs if output.output_type == 'error']


def test_the_setup_cell_and_every_check_refuse_the_instructors_nndl(tmp_path):
    folder = tmp_path / 'hw5'
    shutil.copytree(course.RELEASE_DIR, folder)
    env = dict(os.environ, PYTHONPATH=str(course.REPO_ROOT), NBGRADER_EXECUTION='autograde')
    setup = cell_source('ConvolutionalNetworks.ipynb', 'conv_setup')
    test = cell_source('ConvolutionalNetworks.ipynb', 'test_output_size')
    probe = "import nndl.conv_layers\nprint(nndl.conv_layers.__file__)"
    cells = run_cells(folder, [probe, setup, test], env)
    # The danger is real: the kernel imports the repository's nndl, with the solutions.
    assert cells[0].outputs[0].text.startswith(str(course.REPO_ROOT / 'nndl'))
    for cell in cells[1:]:
        assert errors(cell) and errors(cell)[0].ename == 'ImportError'
        assert "not your copy" in errors(cell)[0].evalue


def test_the_setup_cell_accepts_the_copy_in_the_assignment_folder(tmp_path):
    folder = tmp_path / 'hw5'
    shutil.copytree(course.RELEASE_DIR, folder)
    env = {key: value for key, value in os.environ.items() if key != 'PYTHONPATH'}
    setup = cell_source('ConvolutionalNetworks.ipynb', 'conv_setup')
    cell, = run_cells(folder, [setup], env)
    assert errors(cell) == []
    assert f"come from {folder.resolve()}" in cell.outputs[0].text
