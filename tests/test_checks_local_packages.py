"""utils.checks.require_local_packages: the notebooks' first cell stops unless nndl and utils
come from the notebook's own folder, and says why in words a student can act on."""
import shutil
import subprocess
import sys

from grading.authoring import course

CALL = "from utils.checks import require_local_packages; print(sorted(require_local_packages()))"


def run_in(folder):
    """Run the first cell's check with ``folder`` as the notebook's folder (cwd first on
    sys.path, as in Jupyter); return (exit status, output)."""
    proc = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, ''); {CALL}"],
                          cwd=folder, capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def assignment_copy(tmp_path):
    folder = tmp_path / "hw5"
    for package in ("nndl", "utils"):
        shutil.copytree(course.REPO_ROOT / package, folder / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def test_copies_in_the_notebook_folder_pass(tmp_path):
    status, output = run_in(assignment_copy(tmp_path))
    assert status == 0, output
    assert "['nndl', 'utils']" in output


def test_a_package_folder_without_init_is_named(tmp_path):
    """A student who uploads conv_layers.py and cnn.py into a new nndl/ folder has a
    namespace package (no __file__): a clear ImportError, not a TypeError."""
    folder = assignment_copy(tmp_path)
    (folder / "nndl" / "__init__.py").unlink()
    status, output = run_in(folder)
    assert status != 0
    assert "ImportError: 'nndl' has no __init__.py" in output
    assert "TypeError" not in output


def test_packages_from_elsewhere_are_refused(tmp_path):
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    status, output = run_in(empty)   # nndl and utils come from the course install
    assert status != 0
    assert "not your copy" in output
