"""What students install (requirements.txt) covers what the course's packages import."""
import ast
import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
STUDENT_PACKAGES = ('nndl', 'utils')
# Distribution name (as in requirements.txt) -> module name, where the two differ.
MODULE_OF = {'pillow': 'PIL', 'ipython': 'IPython'}


def imported_top_level_modules(package_dir):
    """{top-level module name: first file importing it} over the .py files of a package.

    Imports inside functions count too; relative imports are the package's own.
    """
    found = {}
    for path in sorted(package_dir.rglob('*.py')):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split('.')[0], path.relative_to(REPO_ROOT))
    return found


def required_modules():
    modules = set()
    for line in (REPO_ROOT / 'requirements.txt').read_text().splitlines():
        requirement = line.split('#')[0].strip()
        if requirement:
            name = re.match(r'[A-Za-z0-9_.-]+', requirement).group(0).lower()
            modules.add(MODULE_OF.get(name, name.replace('-', '_')))
    return modules


def test_student_packages_import_only_the_standard_library_themselves_and_requirements():
    allowed = set(sys.stdlib_module_names) | set(STUDENT_PACKAGES) | required_modules()
    missing = {}
    for package in STUDENT_PACKAGES:
        for module, path in imported_top_level_modules(REPO_ROOT / package).items():
            if module not in allowed:
                missing[module] = str(path)
    assert not missing, f"imported but not in requirements.txt: {missing}"
    assert 'threadpoolctl' in required_modules() and 'numpy' in required_modules()


def test_requirements_of_the_course_packages_are_in_pyproject_too():
    pyproject = (REPO_ROOT / 'pyproject.toml').read_text()
    dependencies = re.search(r'^dependencies = \[(.*?)\]', pyproject, re.S | re.M).group(1)
    declared = {re.match(r'\s*"([A-Za-z0-9_.-]+)', line).group(1).lower()
                for line in dependencies.splitlines() if line.strip().startswith('"')}
    used = set()
    for package in STUDENT_PACKAGES:
        used |= set(imported_top_level_modules(REPO_ROOT / package))
    third_party = used - set(sys.stdlib_module_names) - set(STUDENT_PACKAGES)
    assert third_party <= {MODULE_OF.get(name, name) for name in declared}
