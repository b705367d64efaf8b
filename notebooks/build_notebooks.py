"""Build the lecture notebooks of ``notebooks/`` from their sources in ``notebooks/sources/``.

Each notebook is written as a Python file in the "percent" format, so its text and code
can be read and reviewed like any other module:

    # %% [markdown]
    # # A heading
    # Text of a markdown cell, every line behind "# ".

    # %%
    x = 1          # a code cell runs until the next "# %%" line
    # %matplotlib inline   <- a commented IPython magic becomes "%matplotlib inline"

Lines before the first ``# %%`` marker (a header comment) are not part of the notebook.

Usage (from the repository root):

    python notebooks/build_notebooks.py                 # build and execute all notebooks
    python notebooks/build_notebooks.py 03_pooling      # only the named ones
    python notebooks/build_notebooks.py --no-execute    # write them without outputs
    python notebooks/build_notebooks.py --check         # are the .ipynb files up to date?

Executed notebooks are written with their outputs: nbval compares those outputs when the
test suite re-runs the notebooks (see notebooks/README.md). Cell ids are derived from the
notebook name and cell position, so rebuilding an unchanged source gives the same file.
"""
import argparse
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK_DIR = Path(__file__).resolve().parent
SOURCE_DIR = NOTEBOOK_DIR / "sources"
CELL_MARKER = re.compile(r"^# %%(?P<kind> \[markdown\])?\s*$")
COMMENTED_MAGIC = re.compile(r"^# (?P<magic>%\w.*)$")
# nbval recognises a marker only when the comment holds nothing else.
NBVAL_MARKERS = {"NBVAL_IGNORE_OUTPUT", "NBVAL_CHECK_OUTPUT", "NBVAL_RAISES_EXCEPTION",
                 "NBVAL_SKIP"}
KERNEL_NAME = "python3"
CELL_TIMEOUT_SECONDS = 300


def parse_percent_source(text, name):
    """Split a percent-format source into a list of (cell_type, source) pairs.

    cell_type is 'markdown' or 'code'. Raises ValueError naming ``name`` if the text has
    no cell marker, a markdown line is not a comment, or a comment mentions an nbval
    marker without being exactly that marker (nbval would silently ignore it).
    """
    cells = []
    kind, lines = None, []
    for number, line in enumerate(text.splitlines(), start=1):
        marker = CELL_MARKER.match(line)
        if marker:
            if kind is not None:
                cells.append((kind, lines))
            kind, lines = ("markdown" if marker.group("kind") else "code"), []
        elif kind == "markdown":
            if line and not line.startswith("#"):
                raise ValueError(f"{name}, line {number}: a markdown cell line must start "
                                 f"with '#', got {line!r}")
            lines.append(line[2:] if line.startswith("# ") else line[1:])
        elif kind == "code":
            comment = line.strip().lstrip("#").strip() if line.lstrip().startswith("#") else ""
            if "NBVAL_" in comment and comment not in NBVAL_MARKERS:
                raise ValueError(f"{name}, line {number}: an nbval marker must stand alone on "
                                 f"its comment line (one of {sorted(NBVAL_MARKERS)}), got "
                                 f"{line.strip()!r}")
            magic = COMMENTED_MAGIC.match(line)
            lines.append(magic.group("magic") if magic else line)
    if kind is None:
        raise ValueError(f"{name}: no '# %%' cell marker found")
    cells.append((kind, lines))
    return [(kind, "\n".join(lines).strip("\n")) for kind, lines in cells]


def build_notebook(source_path):
    """Return the (unexecuted) notebook for one percent-format source file."""
    name = source_path.stem
    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {
        "kernelspec": {"name": KERNEL_NAME, "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    for index, (kind, source) in enumerate(
            parse_percent_source(source_path.read_text(encoding="utf-8"), source_path.name)):
        make_cell = nbformat.v4.new_markdown_cell if kind == "markdown" else \
            nbformat.v4.new_code_cell
        notebook.cells.append(make_cell(source, id=f"{name[:50]}-{index:03d}"))
    return notebook


def execute(notebook):
    """Run every cell of ``notebook`` in place, with notebooks/ as working directory.

    The kernel inherits this process's environment. One BLAS thread is the default
    (unless OPENBLAS_NUM_THREADS is set): on a small shared machine, multithreaded BLAS
    calls on small matrices stall unpredictably, and the notebooks need no more.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_SECONDS, kernel_name=KERNEL_NAME,
                            record_timing=False,
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    client.execute()
    # The kernel fills in its exact Python version; keep the file independent of it.
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def cell_sources(notebook):
    """The (cell_type, source) pairs of a notebook: what --check compares."""
    return [(cell.cell_type, cell.source) for cell in notebook.cells]


def out_of_date(source_path):
    """Return a message if the committed .ipynb does not match its source, else None."""
    target = NOTEBOOK_DIR / f"{source_path.stem}.ipynb"
    if not target.is_file():
        return f"{target.name} is missing"
    committed = nbformat.read(target, as_version=4)
    if cell_sources(committed) != cell_sources(build_notebook(source_path)):
        return f"{target.name} differs from sources/{source_path.name}"
    unexecuted = [index for index, cell in enumerate(committed.cells)
                  if cell.cell_type == "code" and cell.execution_count is None]
    if unexecuted:
        return f"{target.name} has unexecuted code cells (cell indices {unexecuted})"
    return None


def select_sources(names):
    """The source files to build: all of them, or those whose stem is in ``names``."""
    sources = sorted(SOURCE_DIR.glob("*.py"))
    if not names:
        return sources
    by_name = {path.stem: path for path in sources}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise SystemExit(f"unknown notebook(s) {unknown}; choose from {sorted(by_name)}")
    return [by_name[name] for name in names]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook names (default: all)")
    parser.add_argument("--no-execute", action="store_true",
                        help="write the notebooks without running them")
    parser.add_argument("--check", action="store_true",
                        help="only check that the committed notebooks match their sources")
    args = parser.parse_args(argv)
    sources = select_sources(args.names)

    if args.check:
        problems = [message for message in map(out_of_date, sources) if message]
        for message in problems:
            print(message)
        if problems:
            print("rebuild with: python notebooks/build_notebooks.py")
            return 1
        print(f"{len(sources)} notebooks up to date")
        return 0

    for source_path in sources:
        notebook = build_notebook(source_path)
        started = time.perf_counter()
        if not args.no_execute:
            execute(notebook)
        target = NOTEBOOK_DIR / f"{source_path.stem}.ipynb"
        nbformat.write(notebook, target)
        print(f"wrote {target.relative_to(NOTEBOOK_DIR.parent)}"
              f" ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
