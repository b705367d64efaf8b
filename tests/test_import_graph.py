"""The import graph of the course packages: imports run one way.

Students write nndl/conv_layers.py and nndl/cnn.py; everything else in nndl/ and utils/ is
provided, and must keep working whatever those two files hold (a student's file from
another course, a rewrite, a stub). So no provided module imports a student module; the
edges into a student file allowed by design are nndl/cnn.py -> nndl/conv_layers.py (the
model is the student's) and the instructor's training script nndl/train.py -> nndl/cnn.py
(course.INSTRUCTOR_ONLY: never released).

ALLOWED below is the whole graph between course modules, parsed from the source with ast
(imports inside functions included). A new edge fails the test until it is added here, so
each one is a decision.
"""
import ast
from pathlib import Path

from grading.authoring import course

PACKAGES = ('nndl', 'utils')
STUDENT_MODULES = tuple(path[:-3].replace('/', '.') for path in course.STUDENT_FILES)

ALLOWED = {
    'nndl.augment': set(),
    'nndl.cnn': {'nndl.conv_layer_utils', 'nndl.layers', 'nndl.model_io'},
    'nndl.conv_layer_utils': {'nndl.layers', 'utils.fast_layers'},
    'nndl.conv_layers': {'nndl.layers', 'utils.conv_checks'},
    'nndl.layer_utils': {'nndl.layers'},
    'nndl.layers': set(),
    'nndl.model_io': set(),
    'nndl.models': {'nndl.layers', 'nndl.model_io', 'nndl.modules'},
    'nndl.modules': {'nndl.layers', 'utils.conv_checks', 'utils.fast_layers'},
    'nndl.optim': set(),
    'nndl.train': {'nndl.augment', 'nndl.cnn', 'nndl.models', 'utils.data_utils',
                   'utils.solver', 'utils.vis_utils'},
    'utils.checks': set(),
    'utils.conv_checks': set(),
    'utils.data_utils': set(),
    'utils.download': {'utils.data_utils'},
    'utils.fast_layers': {'utils.conv_checks'},
    'utils.gradient_check': set(),
    'utils.make_sample': {'utils.data_utils'},
    'utils.solver': {'nndl.model_io', 'nndl.optim'},
    'utils.vis_utils': set(),
}
# Edges into a student module that are there by design: the model uses the student's
# layers, and nndl/train.py (instructor-only, never released) trains the model.
STUDENT_EDGES = {('nndl.cnn', 'nndl.conv_layers'), ('nndl.train', 'nndl.cnn')}


def course_modules():
    """{'nndl.layers': Path, ...} for every module of the course packages."""
    return {f"{package}.{path.stem}": path
            for package in PACKAGES
            for path in sorted((course.REPO_ROOT / package).glob('*.py'))
            if path.stem != '__init__'}


def imported_course_modules(path, modules):
    """The course modules that the source at ``path`` imports, anywhere in the file."""
    tree = ast.parse(Path(path).read_text(encoding='utf-8'), str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from nndl import optim` imports nndl.optim; `from nndl.layers import x`
            # imports nndl.layers.
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in modules)
    return found


def import_graph():
    modules = course_modules()
    return {name: imported_course_modules(path, modules) for name, path in modules.items()}


def test_the_import_graph_is_the_allowed_one():
    graph = import_graph()
    assert set(graph) == set(ALLOWED), (
        "modules added or removed: state their imports in ALLOWED")
    new_edges = sorted((module, target) for module, targets in graph.items()
                       for target in targets - ALLOWED[module])
    gone_edges = sorted((module, target) for module, targets in ALLOWED.items()
                        for target in targets - graph[module])
    assert new_edges == [], f"imports not in ALLOWED: {new_edges}"
    assert gone_edges == [], f"ALLOWED lists imports the code no longer has: {gone_edges}"


def test_provided_modules_never_import_the_students_files():
    # Stated on its own, so that ALLOWED cannot drift into it.
    into_student_files = sorted((module, target) for module, targets in ALLOWED.items()
                                for target in targets if target in STUDENT_MODULES)
    assert set(into_student_files) <= STUDENT_EDGES, into_student_files
    assert 'nndl/train.py' in course.INSTRUCTOR_ONLY


def test_the_parser_sees_every_form_of_import(tmp_path):
    source = tmp_path / 'example.py'
    source.write_text(
        "import nndl.layers\n"
        "from nndl import optim\n"
        "from utils.fast_layers import conv_forward_fast\n"
        "def later():\n"
        "    from nndl.conv_layers import conv_forward_naive\n"
        "import numpy as np\n"
        "from . import sibling\n", encoding='utf-8')
    modules = {'nndl.layers', 'nndl.optim', 'utils.fast_layers', 'nndl.conv_layers'}
    assert imported_course_modules(source, modules) == modules


# --- grading/: three folders by concern, imports one way -----------------------------------
# authoring (the course) <- sandbox (grading one submission) <- classroom (running a class)
LAYERS = ('authoring', 'sandbox', 'classroom')
# Files the launcher runs or binds into the sandbox: the standard library only (entry.py
# finds policy.py beside it inside the sandbox; launch.py imports it as a module).
STDLIB_ONLY = {'grading.sandbox.launch': {'grading.sandbox.policy'},
               'grading.sandbox.entry': {'policy', 'guard'},
               'grading.sandbox.guard': set(), 'grading.sandbox.policy': set()}


def grading_modules():
    """{'grading.sandbox.launch': Path, 'grading.sandbox': Path(__init__), ...}."""
    root = course.REPO_ROOT / 'grading'
    modules = {}
    for path in sorted(root.rglob('*.py')):
        parts = path.relative_to(course.REPO_ROOT).with_suffix('').parts
        name = '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)
        modules[name] = path
    return modules


def grading_graph():
    """{module: set of grading modules it imports, anywhere in the file}."""
    modules = grading_modules()
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding='utf-8'), str(path))
        relative = [node.lineno for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.level]
        assert not relative, f"{path}: relative imports at lines {relative} (write them absolute)"
        graph[name] = imported_course_modules(path, modules) - {name}
    return graph


def layer(module):
    parts = module.split('.')
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_grading_is_three_folders():
    modules = grading_modules()
    loose = sorted(name for name in modules if name != 'grading' and layer(name) is None)
    assert loose == [], f"grading modules outside authoring/, sandbox/, classroom/: {loose}"


def test_grading_imports_run_one_way():
    backwards = sorted((module, target) for module, targets in grading_graph().items()
                       for target in targets
                       if layer(module) is not None and layer(target) is not None
                       and layer(target) > layer(module))
    assert backwards == [], f"imports against authoring <- sandbox <- classroom: {backwards}"


def test_grading_has_no_import_cycles():
    graph = grading_graph()
    done, stack = set(), []

    def visit(module):
        if module in stack:
            raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(module):] + [module]))
        if module in done:
            return
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            visit(target)
        stack.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_the_package_folders_import_nothing():
    graph = grading_graph()
    assert {name: graph[name] for name in ('grading', *(f'grading.{x}' for x in LAYERS))} == \
        {name: set() for name in ('grading', *(f'grading.{x}' for x in LAYERS))}


def test_the_launcher_and_what_it_binds_into_the_sandbox_need_only_the_standard_library():
    import sys
    modules = grading_modules()
    for name, allowed in STDLIB_ONLY.items():
        tree = ast.parse(modules[name].read_text(encoding='utf-8'))
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                imported.add(node.module)
        # packages the kernel itself needs, imported inside the sandbox after the limits
        kernel_side = {'numpy', 'ipykernel.kernelapp'} if name == 'grading.sandbox.entry' else set()
        others = sorted(module for module in imported - allowed - kernel_side
                        if module.split('.')[0] not in sys.stdlib_module_names)
        assert others == [], f"{name} imports {others}"


def test_the_course_packages_never_import_grading():
    for name, path in course_modules().items():
        tree = ast.parse(path.read_text(encoding='utf-8'))
        for node in ast.walk(tree):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ''] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == 'grading' or n.startswith('grading.') for n in names), \
                f"{name} imports {names}"
