"""Checks of the committed hw5 assignment that need no nbgrader run.

- release/hw5 holds no solution and no hidden test: no line of a ``### BEGIN SOLUTION`` or
  ``### BEGIN HIDDEN TESTS`` region of nndl/*.py or of the source notebooks;
- it holds exactly the notebooks and the released modules;
- source/hw5 is what grading.authoring.build_source writes (notebooks and module links);
- nbgrader_config.py keeps the student's version of exactly the files with solutions, and
  refuses to run without the course's plug-ins.
"""
import runpy
import shutil
import sys

import nbformat
import pytest
from traitlets.config import Config

from grading.authoring import build_source, course
from grading.authoring.nbbuild import graded_cells
from grading.authoring.pysolutions import SOLUTION, find_regions

BEGIN_MARKERS = ('BEGIN SOLUTION', 'BEGIN HIDDEN TESTS')


def regions_of_cell(source):
    """(inside, outside): the lines of a cell inside and outside its marked regions."""
    inside, outside, depth = [], [], False
    for line in source.splitlines():
        if any(marker in line for marker in BEGIN_MARKERS):
            depth = True
        elif 'END SOLUTION' in line or 'END HIDDEN TESTS' in line:
            depth = False
        elif depth:
            inside.append(line.strip())
        else:
            outside.append(line.strip())
    return inside, outside


def secret_lines():
    """Distinctive lines of the solutions and hidden tests, from nndl/ and source/hw5."""
    secret, given = set(), set()
    for relative in course.released_modules():
        text = (course.REPO_ROOT / relative).read_text(encoding='utf-8')
        lines = text.splitlines()
        inside = {n for r in find_regions(text, relative) for n in range(r.begin, r.end + 1)}
        for number, line in enumerate(lines, start=1):
            (secret if number in inside else given).add(line.strip())
    for name in course.NOTEBOOKS:
        nb = nbformat.read(course.SOURCE_DIR / f"{name}.ipynb", as_version=4)
        for cell in nb.cells:
            inside, outside = regions_of_cell(cell.source)
            secret.update(inside)
            given.update(outside)
    # Lines that are also given code, or too generic to tell anything, do not count.
    return {line for line in secret - given
            if len(line) > 12 and not line.startswith('#') and line not in ('"""', "'''")}


def release_texts(release_dir):
    for path in sorted(release_dir.rglob('*')):
        if path.suffix == '.py':
            yield path, path.read_text(encoding='utf-8').splitlines()
        elif path.suffix == '.ipynb':
            nb = nbformat.read(path, as_version=4)
            yield path, [line for cell in nb.cells for line in cell.source.splitlines()]


def leaks(release_dir):
    """{file: leaked lines or markers} of a release folder."""
    secrets, found = secret_lines(), {}
    for path, lines in release_texts(release_dir):
        leaked = sorted({line.strip() for line in lines} & secrets)
        leaked += [line for line in lines if line.lstrip().startswith('#')
                   and any(marker in line for marker in BEGIN_MARKERS)]
        if leaked:
            found[path.relative_to(release_dir).as_posix()] = leaked
    return found


def test_secret_lines_are_found_at_all():
    secrets = secret_lines()
    # Sanity check of the check: both kinds of regions contribute.
    assert any('tensordot' in line for line in secrets)          # nndl/conv_layers.py
    assert any('reference_conv(' in line for line in secrets)    # hidden tests
    assert any('def reference_' in line for line in secrets)


def test_no_solution_or_hidden_test_line_is_released():
    assert leaks(course.RELEASE_DIR) == {}


def test_the_leak_check_finds_solutions_and_hidden_tests(tmp_path):
    release = tmp_path / 'hw5'
    shutil.copytree(course.RELEASE_DIR, release)
    shutil.copyfile(course.REPO_ROOT / 'nndl' / 'cnn.py', release / 'nndl' / 'cnn.py')
    notebook = 'SpatialBatchNorm.ipynb'
    shutil.copyfile(course.SOURCE_DIR / notebook, release / notebook)
    assert sorted(leaks(release)) == ['SpatialBatchNorm.ipynb', 'nndl/cnn.py']


def test_released_modules_have_stubs_and_no_regions():
    for relative in course.STUDENT_FILES:
        text = (course.RELEASE_DIR / relative).read_text(encoding='utf-8')
        assert not find_regions(text, relative)
        assert 'raise NotImplementedError(' in text
        compile(text, relative, 'exec')


def test_the_release_holds_exactly_the_notebooks_the_modules_and_the_requirements():
    files = sorted(p.relative_to(course.RELEASE_DIR).as_posix()
                   for p in course.RELEASE_DIR.rglob('*')
                   if p.is_file() and '__pycache__' not in p.parts)
    notebooks = [f"{name}.ipynb" for name in course.NOTEBOOKS]
    assert files == sorted(notebooks + course.released_files())
    assert (course.RELEASE_DIR / 'requirements.txt').read_text() == (
        course.REPO_ROOT / 'requirements.txt').read_text()
    for relative in course.INSTRUCTOR_ONLY:
        assert relative not in files


def test_source_notebooks_and_links_are_up_to_date():
    assert build_source.build(check=True) == [], "run: python -m grading.authoring.build_source"
    assert course.sync_links(check=True) == [], "run: python -m grading.authoring.build_source"


def test_every_source_module_is_a_link_to_the_root_package():
    for relative in course.released_files():
        link = course.SOURCE_DIR / relative
        assert link.is_symlink()
        assert link.resolve() == (course.REPO_ROOT / relative).resolve()


def test_graded_cells_have_unique_ids_and_the_expected_points():
    points = {}
    for name in course.NOTEBOOKS:
        nb = nbformat.read(course.SOURCE_DIR / f"{name}.ipynb", as_version=4)
        for grade_id, value in graded_cells(nb):
            assert grade_id not in points
            points[grade_id] = value
    assert sum(points.values()) == 54
    hidden = [cell for name in course.NOTEBOOKS
              for cell in nbformat.read(course.SOURCE_DIR / f"{name}.ipynb", 4).cells
              if cell.metadata.get('nbgrader', {}).get('grade')
              and not cell.metadata['nbgrader'].get('solution')]
    assert all('### BEGIN HIDDEN TESTS' in cell.source for cell in hidden)


def load_config():
    config = Config()
    runpy.run_path(str(course.REPO_ROOT / 'nbgrader_config.py'),
                   init_globals={'get_config': lambda: config})
    return config


def test_autograde_keeps_the_students_version_of_exactly_the_files_with_solutions():
    with_solutions = sorted(
        relative for relative in course.released_modules()
        if any(region.kind == SOLUTION for region in
               find_regions((course.REPO_ROOT / relative).read_text(encoding='utf-8'))))
    assert sorted(course.STUDENT_FILES) == with_solutions
    kept = load_config().Autograde.exclude_overwriting[course.ASSIGNMENT]
    assert sorted(kept) == sorted([*course.STUDENT_FILES, course.MODEL_FILE])


def test_the_config_refuses_to_run_without_the_plug_ins(monkeypatch):
    monkeypatch.setitem(sys.modules, 'grading.authoring.release', None)   # import fails
    with pytest.raises(SystemExit, match="pip install -e"):
        load_config()
