"""Build nbgrader notebooks from Python: one function per kind of nbgrader cell.

    notebook('CNN', [
        markdown('intro', "# Title ..."),            # read-only text
        markdown('conv', "![..](attachment:conv_forward.png)", figures=['conv_forward']),
        setup('imports', "import numpy as np"),      # read-only code, restored at autograde
        code("x = 1"),                               # ordinary code the student may edit
        solution('train', "def train(): ..."),       # autograded answer: the student's code
        tests('test_loss', 2, "..."),                # autograder tests worth 2 points
        answer('why_3x3', 2, "..."),                 # manually graded free-text answer
    ])

Cells get stable ids, so building twice gives identical files.
"""
import base64
import textwrap

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {'display_name': 'Python 3 (ipykernel)', 'language': 'python', 'name': 'python3'}
LANGUAGE_INFO = {'name': 'python', 'file_extension': '.py', 'mimetype': 'text/x-python'}


def _text(source):
    return textwrap.dedent(source).strip('\n')


def _nbgrader(grade_id, *, grade=False, solution=False, locked=False, points=None):
    meta = {'grade': grade, 'grade_id': grade_id, 'locked': locked, 'schema_version': 3,
            'solution': solution, 'task': False}
    if points is not None:
        meta['points'] = points
    return {'nbgrader': meta}


def markdown(grade_id, source, figures=()):
    """Read-only text. ``figures``: names of grading/authoring/figures/*.png that the text shows
    as ``![...](attachment:NAME.png)``; they are embedded as cell attachments."""
    cell = new_markdown_cell(_text(source), metadata=_nbgrader(grade_id, locked=True))
    cell.id = grade_id
    if figures:
        from grading.authoring.figures import figure_path   # matplotlib only when there are figures
        cell.attachments = {}
        for name in figures:
            reference = f"attachment:{name}.png"
            if reference not in cell.source:
                raise ValueError(f"markdown {grade_id}: figure {name} is attached but the "
                                 f"text never shows it ({reference})")
            data = base64.b64encode(figure_path(name).read_bytes()).decode('ascii')
            cell.attachments[f"{name}.png"] = {'image/png': data}
    return cell


def setup(grade_id, source):
    """Read-only code; nbgrader restores it if a student changed it."""
    cell = new_code_cell(_text(source), metadata=_nbgrader(grade_id, locked=True))
    cell.id = grade_id
    return cell


def code(source, cell_id=None):
    """Ordinary code, without nbgrader metadata (the id is set by notebook())."""
    cell = new_code_cell(_text(source))
    cell.id = cell_id
    return cell


def solution(grade_id, source):
    """Code the student writes: the ### BEGIN/END SOLUTION region becomes a stub."""
    cell = new_code_cell(_text(source), metadata=_nbgrader(grade_id, solution=True))
    cell.id = grade_id
    return cell


def tests(grade_id, points, source):
    """Autograder tests: full points if the cell runs without an error, else 0."""
    cell = new_code_cell(_text(source),
                         metadata=_nbgrader(grade_id, grade=True, locked=True, points=points))
    cell.id = grade_id
    return cell


def answer(grade_id, points, source):
    """A free-text answer the instructor grades by hand (markdown, ### BEGIN SOLUTION)."""
    cell = new_markdown_cell(_text(source),
                             metadata=_nbgrader(grade_id, grade=True, solution=True,
                                                points=points))
    cell.id = grade_id
    return cell


def notebook(name, cells):
    """An nbformat 4.5 notebook of ``cells``; plain code cells get ids name-1, name-2..."""
    for number, cell in enumerate(cells, start=1):
        if cell.get('id') is None:
            cell.id = f"{name.lower()}-{number}"
    ids = [cell.id for cell in cells]
    duplicates = sorted({cell_id for cell_id in ids if ids.count(cell_id) > 1})
    if duplicates:
        raise ValueError(f"notebook {name}: duplicate cell ids {duplicates}")
    nb = new_notebook(cells=cells, metadata={'kernelspec': dict(KERNELSPEC),
                                             'language_info': dict(LANGUAGE_INFO)})
    nb.nbformat, nb.nbformat_minor = 4, 5
    nbformat.validate(nb)
    return nb


def graded_cells(nb):
    """(grade_id, points) of the autograded test cells of ``nb``, in order."""
    return [(cell.metadata['nbgrader']['grade_id'], cell.metadata['nbgrader']['points'])
            for cell in nb.cells
            if cell.get('metadata', {}).get('nbgrader', {}).get('grade')
            and not cell.metadata['nbgrader'].get('solution')]
