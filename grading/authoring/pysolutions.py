"""Strip the instructor's solutions out of Python files, as nbgrader does for notebooks.

nbgrader replaces ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` regions in notebook cells
but copies every other file of an assignment verbatim (jupyter/nbgrader#1237), which would
hand students the solutions in ``nndl/*.py``. ``strip_solutions`` does for a .py file what
nbgrader does for a cell:

- each solution region, markers included, becomes a stub at the indentation of its
  ``### BEGIN SOLUTION`` line::

      # YOUR CODE HERE
      raise NotImplementedError("conv_forward_naive: your code goes here")

- each ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` region is removed.

Markers are found with the tokenizer, so only comments count: a docstring or string that
mentions ``### BEGIN SOLUTION`` is left alone. A marker must be a comment on a line of its
own. Anything that could let a solution slip through raises ``SolutionMarkerError`` (a
ValueError) naming the file and line: a comment that mentions a marker without being one
(``# BEGIN SOLUTION here``), an unmatched or nested marker, a solution region outside a
function body (its stub would raise on import), or a result that does not compile.
"""
import ast
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

SOLUTION = 'SOLUTION'
HIDDEN_TESTS = 'HIDDEN TESTS'
_MARKER = re.compile(r'^#+\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS)\s*$')
_MENTION = re.compile(r'(BEGIN|END)\s+(SOLUTION|HIDDEN\s+TESTS)')
STUB_COMMENT = '# YOUR CODE HERE'


class SolutionMarkerError(ValueError):
    """A .py file whose solution markers cannot be stripped safely."""


@dataclass(frozen=True)
class Region:
    """One marked region of a file: lines begin..end (1-based, markers included)."""
    kind: str          # SOLUTION or HIDDEN_TESTS
    begin: int
    end: int
    indent: str        # the whitespace before the BEGIN marker
    function: str      # qualified name of the enclosing function, '' at module level


def find_regions(source, filename='<string>'):
    """Return the marked regions of Python ``source`` in file order (a list of Region)."""
    lines = source.splitlines()
    markers = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError) as err:
        raise SolutionMarkerError(f"{filename}: cannot tokenize ({err})") from err
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        row, col = token.start
        text = token.string.strip()
        match = _MARKER.match(text)
        if match and not lines[row - 1][:col].strip():
            markers.append((row, match.group(1), match.group(2), lines[row - 1][:col]))
        elif _MENTION.search(text):
            raise SolutionMarkerError(
                f"{filename}:{row}: comment {text!r} mentions a solution or hidden-test marker "
                f"but is not one (a marker is a comment line such as '### BEGIN SOLUTION')")

    functions = _function_spans(source, filename)
    regions, open_marker = [], None
    for row, side, kind, indent in markers:
        if side == 'BEGIN':
            if open_marker is not None:
                raise SolutionMarkerError(
                    f"{filename}:{row}: BEGIN {kind} inside the {open_marker[2]} region opened "
                    f"at line {open_marker[0]} (regions cannot nest)")
            open_marker = (row, side, kind, indent)
            continue
        if open_marker is None or open_marker[2] != kind:
            raise SolutionMarkerError(
                f"{filename}:{row}: END {kind} without a matching BEGIN {kind}")
        begin_row, _, _, begin_indent = open_marker
        regions.append(Region(kind, begin_row, row, begin_indent,
                              _enclosing_function(functions, begin_row)))
        open_marker = None
    if open_marker is not None:
        raise SolutionMarkerError(
            f"{filename}:{open_marker[0]}: BEGIN {open_marker[2]} is never closed")
    return regions


def strip_solutions(source, filename='<string>'):
    """Return ``source`` with solution regions stubbed out and hidden-test regions removed.

    Raises SolutionMarkerError if the markers are malformed or the result would not compile.
    """
    regions = find_regions(source, filename)
    if not regions:
        return source
    lines = source.splitlines(keepends=True)
    newline = '\r\n' if lines and lines[0].endswith('\r\n') else '\n'
    output, next_line = [], 1
    for region in regions:
        output.extend(lines[next_line - 1:region.begin - 1])
        if region.kind == SOLUTION:
            if not region.function:
                raise SolutionMarkerError(
                    f"{filename}:{region.begin}: solution region outside a function body; its "
                    f"stub would raise NotImplementedError as soon as the module is imported")
            message = f"{region.function}: your code goes here"
            output.append(f"{region.indent}{STUB_COMMENT}{newline}")
            output.append(f"{region.indent}raise NotImplementedError({message!r}){newline}")
        next_line = region.end + 1
    output.extend(lines[next_line - 1:])
    stripped = ''.join(output)
    try:
        compile(stripped, filename, 'exec', dont_inherit=True)
    except SyntaxError as err:
        raise SolutionMarkerError(
            f"{filename}: the file does not compile once its solutions are stripped "
            f"(line {err.lineno}: {err.msg}); check the indentation of its markers") from err
    return stripped


def strip_file(path):
    """Strip the solutions of the .py file at ``path`` in place; return True if it changed."""
    path = Path(path)
    source = path.read_text(encoding='utf-8')
    stripped = strip_solutions(source, str(path))
    if stripped == source:
        return False
    path.write_text(stripped, encoding='utf-8')
    return True


def solution_lines(source, filename='<string>'):
    """The lines strictly inside the solution regions of ``source`` (without markers)."""
    lines = source.splitlines()
    return [line for region in find_regions(source, filename) if region.kind == SOLUTION
            for line in lines[region.begin:region.end - 1]]


def _function_spans(source, filename):
    """(first line, last line, qualified name) of every function in ``source``."""
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as err:
        raise SolutionMarkerError(f"{filename}: not valid Python ({err})") from err
    spans = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    spans.append((child.lineno, child.end_lineno, name))
                visit(child, f"{name}.")
            else:
                visit(child, prefix)

    visit(tree, '')
    return spans


def _enclosing_function(spans, row):
    """Qualified name of the innermost function whose body holds line ``row``, or ''."""
    inside = [(first, name) for first, last, name in spans if first < row <= last]
    return max(inside)[1] if inside else ''
