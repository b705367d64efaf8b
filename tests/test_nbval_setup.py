"""The notebook half of the test command: nbval as configured in pyproject.toml.

`python -m pytest` re-runs every notebook of notebooks/ and source/ with nbval (see
notebooks/README.md). These tests check that configuration itself, by running pytest in a
subprocess on a miniature course directory that holds copies of the repository's
pyproject.toml and nbval_sanitize.cfg:

- a broken notebook (a changed output, a renamed function) fails, and the report names
  the notebook and the cell;
- the sanitizer hides what legitimately changes between runs (timings, addresses);
- lecture and solution notebooks are collected, release/ and test fixtures are not.
"""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

REPO_ROOT = Path(__file__).resolve().parent.parent
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def make_course(root):
    """A course directory with the repository's pytest and nbval configuration."""
    for name in ("pyproject.toml", "nbval_sanitize.cfg"):
        shutil.copy(REPO_ROOT / name, root / name)
    return root


def write_notebook(path, cells):
    """Write an executed notebook: cells is a list of (source, stdout stored as output)."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    for count, (source, stdout) in enumerate(cells, start=1):
        cell = nbformat.v4.new_code_cell(source, execution_count=count)
        if stdout:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stdout)]
        notebook.cells.append(cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)


def run_pytest(course, *args):
    """Run pytest in `course` with its configuration; return (exit code, plain output)."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=course, capture_output=True, text=True, timeout=300)
    return result.returncode, ANSI_ESCAPE.sub("", result.stdout + result.stderr)


def test_broken_notebook_fails_naming_notebook_and_cell(tmp_path):
    course = make_course(tmp_path)
    write_notebook(course / "notebooks" / "broken_lecture.ipynb", [
        # Passes although the timing and the address differ: nbval_sanitize.cfg at work.
        ("import time\nstart = time.perf_counter()\n"
         "print(f'took {1000 * (time.perf_counter() - start):.3f} ms')\nprint(object())",
         "took 123.456 ms\n<object object at 0x7f2b5c0d1e90>\n"),
        # A changed output: the notebook says 41, the code now prints 42.
        ("print(6 * 7)", "41\n"),
        # A function that was renamed in the library.
        ("from nndl.conv_layers import conv_forward_naive_renamed", None),
    ])

    code, output = run_pytest(course, "-v", "notebooks/broken_lecture.ipynb")

    assert code == 1, output
    # (pytest -v prints this item as "notebooks/broken_lecture::ipynb::Cell 0")
    assert re.search(r"notebooks/broken_lecture\S*::Cell 0 PASSED", output), output
    assert "FAILED notebooks/broken_lecture.ipynb::Cell 1" in output, output
    assert "Cell 1: Cell outputs differ" in output, output
    assert "41" in output and "42" in output, output
    assert "FAILED notebooks/broken_lecture.ipynb::Cell 2" in output, output
    assert "Cell 2: Cell execution caused an exception" in output, output
    assert "conv_forward_naive_renamed" in output, output


def test_collects_lecture_and_solution_notebooks_but_not_release_or_fixtures(tmp_path):
    course = make_course(tmp_path)
    write_notebook(course / "notebooks" / "lecture.ipynb", [("x = 1", None)])
    write_notebook(course / "source" / "hw" / "solution.ipynb", [("x = 1", None)])
    write_notebook(course / "release" / "hw" / "student.ipynb",
                   [("raise NotImplementedError", None)])
    write_notebook(course / "tests" / "data" / "fixture.ipynb", [("x = 1", None)])

    code, output = run_pytest(course, "--collect-only", "-q")

    assert code == 0, output
    assert "notebooks/lecture.ipynb::Cell 0" in output, output
    assert "source/hw/solution.ipynb::Cell 0" in output, output
    assert "student.ipynb" not in output, output
    assert "fixture.ipynb" not in output, output


def test_committed_lecture_notebooks_match_their_sources():
    result = subprocess.run([sys.executable, str(REPO_ROOT / "notebooks" / "build_notebooks.py"),
                             "--check"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
