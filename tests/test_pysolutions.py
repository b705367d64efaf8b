"""Tests of grading.authoring.pysolutions: stripping ### BEGIN SOLUTION regions from .py files."""
import textwrap

import pytest

from grading.authoring.course import REPO_ROOT, STUDENT_FILES
from grading.authoring.pysolutions import (SolutionMarkerError, find_regions, solution_lines,
                                 strip_solutions)


def source(text):
    return textwrap.dedent(text).lstrip('\n')


def run(code, name='f', *args):
    """Execute ``code`` and call its function ``name``."""
    namespace = {}
    exec(compile(code, '<test>', 'exec'), namespace)
    return namespace[name](*args)


def test_a_solution_region_becomes_a_stub_at_the_markers_indentation():
    original = source('''
        def f(x):
            """Double x."""
            if x is not None:
                ### BEGIN SOLUTION
                y = 2 * x
                ### END SOLUTION
            return y
        ''')
    stripped = strip_solutions(original)
    assert 'y = 2 * x' not in stripped and 'SOLUTION' not in stripped
    assert "        # YOUR CODE HERE\n        raise NotImplementedError(" in stripped
    assert run(original, 'f', 3) == 6
    with pytest.raises(NotImplementedError, match="f: your code goes here"):
        run(stripped, 'f', 3)


def test_the_stub_names_the_method_it_belongs_to():
    stripped = strip_solutions(source('''
        class Net:
            def loss(self):
                ### BEGIN SOLUTION
                return 1
                ### END SOLUTION
        '''))
    assert "raise NotImplementedError('Net.loss: your code goes here')" in stripped


def test_markers_inside_strings_are_text_not_markers():
    original = source('''
        """Write your code between ### BEGIN SOLUTION and ### END SOLUTION."""
        HELP = """
        ### BEGIN SOLUTION
        """


        def f():
            return HELP
        ''')
    assert find_regions(original) == []
    assert strip_solutions(original) == original


def test_hidden_test_regions_are_removed_and_not_taken_for_solutions():
    original = source('''
        def f():
            ### BEGIN SOLUTION
            value = 1
            ### END SOLUTION
            return value


        def check():
            assert f() == 1
            ### BEGIN HIDDEN TESTS
            assert f() + 1 == 2
            ### END HIDDEN TESTS
        ''')
    kinds = [region.kind for region in find_regions(original)]
    assert kinds == ['SOLUTION', 'HIDDEN TESTS']
    stripped = strip_solutions(original)
    assert 'f() + 1' not in stripped and 'HIDDEN' not in stripped
    assert '    assert f() == 1\n' in stripped


@pytest.mark.parametrize('bad, message', [
    ('def f():\n    ### BEGIN SOLUTION\n    return 1\n', 'never closed'),
    ('def f():\n    return 1\n    ### END SOLUTION\n', 'without a matching BEGIN'),
    ('def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    x = 1\n'
     '    ### END SOLUTION\n', 'cannot nest'),
    ('def f():\n    ### BEGIN SOLUTION\n    x = 1\n    ### END HIDDEN TESTS\n',
     'without a matching BEGIN'),
    ('### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n', 'outside a function body'),
    ('def f():\n    x = 1  # BEGIN SOLUTION\n    return x\n', 'is not one'),
    ('def f():\n    ### BEGIN SOLUTION:\n    return 1\n    ### END SOLUTION\n', 'is not one'),
    ('def f():\n    if True:\n    ### BEGIN SOLUTION\n        return 1\n    ### END SOLUTION\n',
     'does not compile'),
])
def test_anything_that_could_leak_or_break_raises(bad, message):
    with pytest.raises(SolutionMarkerError, match=message):
        strip_solutions(bad, 'bad.py')


def test_the_course_files_strip_to_valid_modules_without_their_solutions():
    for relative in STUDENT_FILES:
        original = (REPO_ROOT / relative).read_text(encoding='utf-8')
        lines = [line.strip() for line in solution_lines(original)]
        assert lines, f"{relative} has no solution region"
        stripped = strip_solutions(original, relative)
        kept = {line.strip() for line in stripped.splitlines()}
        # A line of a solution that is also given code elsewhere in the file may stay.
        inside = {number for region in find_regions(original) if region.kind == 'SOLUTION'
                  for number in range(region.begin, region.end + 1)}
        given = {line.strip() for number, line in enumerate(original.splitlines(), start=1)
                 if number not in inside}
        leaked = [line for line in lines if line and line in kept and line not in given]
        assert not leaked, f"{relative}: solution lines left after stripping: {leaked}"
        assert stripped.count('raise NotImplementedError(') >= len(
            [r for r in find_regions(original) if r.kind == 'SOLUTION'])
