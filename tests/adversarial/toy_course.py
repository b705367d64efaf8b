"""A throwaway nbgrader course: one notebook ``ps1`` that tests the student's ``mymod.py``.

The notebook has an import cell and three test cells: ``test_add`` (2 points),
``test_scale`` (3 points) and ``test_add_again`` (1 point). ``SUBMISSIONS`` maps a
student id to the ``mymod.py`` that student hands in, each breaking the grader in its
own way, and ``EXPECTED`` gives the score each must get.
"""
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat


CORRECT = """
import numpy as np

def add(a, b):
    return a + b

def scale(x, factor):
    return np.asarray(x) * factor
"""

WRONG_SCALE = CORRECT.replace("np.asarray(x) * factor", "np.asarray(x) + factor")

SUBMISSIONS = {
    "good": CORRECT,
    "wrong": WRONG_SCALE,
    # an endless loop that the timeout's interrupt stops
    "hang": CORRECT.replace("    return a + b", "    while True:\n        pass"),
    # an endless loop that ignores the interrupt: the kernel must be replaced
    "deaf": CORRECT.replace("    return a + b", "    import signal\n"
                            "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                            "    while True:\n        pass"),
    "oom": CORRECT.replace("    return np.asarray(x) * factor",
                           "    hog = [np.ones(2**27) for _ in range(64)]\n"
                           "    return np.asarray(x) * factor"),
    "exit": CORRECT.replace("    return a + b", "    import os\n    os._exit(3)"),
    "segfault": CORRECT.replace("    return a + b", "    import ctypes\n    return ctypes.string_at(0)"),
    "syntax": CORRECT.replace("def add(a, b):", "def add(a, b)"),
    "patch": "import numpy as np\nnp.allclose = lambda *a, **k: True\n" + WRONG_SCALE,
    "repatch": WRONG_SCALE.replace("    return np.asarray(x) + factor",
                                   "    np.allclose = lambda *a, **k: True\n"
                                   "    return np.asarray(x) + factor"),
}
DELETED_TESTS = {"nocells"}  # these also delete every test cell from their notebook
SUBMISSIONS["nocells"] = CORRECT

EXPECTED = {"good": 6, "wrong": 3, "hang": 3, "deaf": 3, "oom": 3, "exit": 3, "segfault": 3,
            "syntax": 0, "patch": 3, "repatch": 3, "nocells": 6}

CONFIG = '''
c = get_config()
c.CourseDirectory.course_id = "toy"
c.CourseDirectory.db_url = {db_url!r}
c.Autograde.exclude_overwriting = {{"ps1": ["mymod.py"]}}
c.Execute.timeout = 4
c.Execute.iopub_timeout = 2
from grading.sandbox.config import configure_sandbox
configure_sandbox(c, notebook_timeout=180, memory_limit=2 * 1024**3)
'''


def _notebook():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}

    def cell(source, grade_id, points=None):
        meta = {"grade": points is not None, "grade_id": grade_id, "locked": True,
                "schema_version": 3, "solution": False}
        if points is not None:
            meta["points"] = points
        return nbformat.v4.new_code_cell(textwrap.dedent(source).strip(),
                                         metadata={"nbgrader": meta})

    nb.cells = [
        cell("import numpy as np\nfrom mymod import add, scale", "imports"),
        cell("assert add(1, 2) == 3", "test_add", 2),
        cell("assert np.allclose(scale(np.ones(3), 2), 2 * np.ones(3))", "test_scale", 3),
        cell("assert add(2, 2) == 4", "test_add_again", 1),
    ]
    return nb


def nbgrader(course, *args, check=True, timeout=900):
    """Run ``nbgrader ARGS`` in ``course``; return the CompletedProcess."""
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def build_course(course, students=SUBMISSIONS, db_url=None):
    """Create the course in ``course`` (a new folder), release ps1 and hand in ``students``.

    ``students`` maps student id to mymod.py source. Returns the course path.
    """
    course = Path(course)
    (course / "source" / "ps1").mkdir(parents=True)
    db_url = db_url or f"sqlite:///{course / 'gradebook.db'}"
    (course / "nbgrader_config.py").write_text(CONFIG.format(db_url=db_url))
    nbformat.write(_notebook(), course / "source" / "ps1" / "ps1.ipynb")
    (course / "source" / "ps1" / "mymod.py").write_text(CORRECT)
    nbgrader(course, "generate_assignment", "ps1", "--force")
    released = nbformat.read(course / "release" / "ps1" / "ps1.ipynb", as_version=4)
    for student, code in students.items():
        folder = course / "submitted" / student / "ps1"
        folder.mkdir(parents=True)
        nb = released
        if student in DELETED_TESTS:
            nb = nbformat.from_dict(json.loads(json.dumps(released)))
            nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]
        nbformat.write(nb, folder / "ps1.ipynb")
        (folder / "mymod.py").write_text(code)
        (folder / "timestamp.txt").write_text("2024-01-01 00:00:00.000000 UTC")
    return course


def scores(db_url, assignment="ps1"):
    """Dict student id -> total score of ``assignment`` in the gradebook at ``db_url``."""
    from nbgrader.api import Gradebook
    with Gradebook(db_url) as gb:
        return {s.student.id: s.score for s in gb.assignment_submissions(assignment)}


def grade_rows(db_url, assignment="ps1"):
    """(student, notebook, cell) of every grade row of ``assignment``, with repeats."""
    from nbgrader.api import Gradebook
    with Gradebook(db_url) as gb:
        return [(g.student.id, g.notebook.name, g.name)
                for s in gb.assignment_submissions(assignment) for nb in s.notebooks for g in nb.grades]


def serial_scores(course, students):
    """Build the course at ``course`` with ``students`` and grade it with the stock, serial
    ``nbgrader autograde ps1``; return its scores (the reference for other ways of grading)."""
    build_course(course, students)
    nbgrader(course, "autograde", "ps1")
    return scores(f"sqlite:///{course / 'gradebook.db'}")


def cell_scores(db_url, student, assignment="ps1"):
    """Dict grade cell name -> auto score of ``student``'s ps1."""
    from nbgrader.api import Gradebook
    with Gradebook(db_url) as gb:
        nb = gb.find_submission_notebook("ps1", assignment, student)
        return {g.name: g.auto_score for g in nb.grades}


def copy_course(course, dest):
    """A copy of the course (to grade the same submissions twice)."""
    shutil.copytree(course, dest, symlinks=True)
    return Path(dest)
