"""The diagrams of the hw5 notebooks: drawn by grading.authoring.figures, embedded as attachments of
the markdown cells, and kept by nbgrader generate_assignment in the release."""
import base64
import re

import nbformat
import pytest
from matplotlib.image import imread

from grading.authoring import course, figures
from grading.authoring.nbbuild import markdown

REFERENCE = re.compile(r'\(attachment:([\w.-]+)\)')


def attachments_by_notebook(folder):
    """{notebook: {attachment name: (cell id, PNG bytes)}} of the markdown cells in folder."""
    found = {}
    for name in course.NOTEBOOKS:
        nb = nbformat.read(folder / f"{name}.ipynb", as_version=4)
        found[name] = {}
        for cell in nb.cells:
            for reference in REFERENCE.findall(cell.source):
                data = cell.get('attachments', {}).get(reference, {}).get('image/png')
                assert data is not None, f"{name}, cell {cell.id}: {reference} is not attached"
                found[name][reference] = (cell.id, base64.b64decode(data))
    return found


@pytest.mark.parametrize('folder', [course.SOURCE_DIR, course.RELEASE_DIR],
                         ids=['source', 'release'])
def test_every_hw5_notebook_shows_at_least_two_committed_figures(folder):
    for notebook, attached in attachments_by_notebook(folder).items():
        # CNN.ipynb draws its other figures (training curves, filters) when it runs.
        assert len(attached) >= (1 if notebook == 'CNN' else 2), notebook
        for reference, (cell_id, data) in attached.items():
            committed = figures.FIGURE_DIR / reference
            assert data == committed.read_bytes(), \
                f"{notebook}, cell {cell_id}: {reference} differs from {committed}"


def test_every_committed_figure_is_used_and_drawable():
    used = {reference for attached in attachments_by_notebook(course.SOURCE_DIR).values()
            for reference in attached}
    assert used == {f"{name}.png" for name in figures.FIGURES}
    assert sorted(p.name for p in figures.FIGURE_DIR.glob('*.png')) == sorted(used)


def test_draw_writes_a_png_of_the_figure_size(tmp_path):
    [path] = figures.draw(['max_pool_ties'], directory=tmp_path)
    assert path == tmp_path / 'max_pool_ties.png'
    height, width = imread(path).shape[:2]
    assert (width, height) == (1000, 290)          # figsize (10, 2.9) at 100 dpi


def test_an_unknown_figure_is_refused_with_the_known_names(capsys):
    with pytest.raises(KeyError, match='conv_forward'):
        figures.figure_path('conv_fwd')
    with pytest.raises(SystemExit):
        figures.main(['conv_fwd'])
    assert "unknown figures ['conv_fwd']" in capsys.readouterr().err


def test_a_figure_attached_but_not_shown_is_an_error():
    cell = markdown('ok', 'See ![the window](attachment:max_pool_ties.png).',
                    figures=['max_pool_ties'])
    assert set(cell.attachments) == {'max_pool_ties.png'}
    with pytest.raises(ValueError, match='never shows it'):
        markdown('forgot', 'No picture here.', figures=['max_pool_ties'])
