"""Small text edits of Python modules, one function at a time (for the sample submissions)."""


def function_span(lines, function):
    """(index of the ``def`` line, index after the body) of ``function`` in ``lines``.

    ``function`` is a plain name (a method is found by its own name); it must be defined
    exactly once.
    """
    starts = [i for i, line in enumerate(lines) if line.lstrip().startswith(f'def {function}(')]
    if len(starts) != 1:
        raise ValueError(f"expected one 'def {function}(', found {len(starts)}")
    start = starts[0]
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or
                                len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    return start, end


def replace_in_function(text, function, old, new):
    """``text`` with ``old`` replaced by ``new`` in ``function``, where it must occur once."""
    lines = text.split('\n')
    start, end = function_span(lines, function)
    body = '\n'.join(lines[start:end])
    if body.count(old) != 1:
        raise ValueError(f"{old!r} occurs {body.count(old)} times in {function}, not once")
    lines[start:end] = body.replace(old, new).split('\n')
    return '\n'.join(lines)


def insert_after_docstring(text, function, statement):
    """``text`` with ``statement`` as the first line after the docstring of ``function``."""
    lines = text.split('\n')
    start, end = function_span(lines, function)
    first = next(i for i in range(start + 1, end) if lines[i].strip())
    if not lines[first].strip().startswith('"""'):
        raise ValueError(f"{function} has no docstring to insert after")
    closing = first if lines[first].strip().count('"""') == 2 else next(
        i for i in range(first + 1, end) if '"""' in lines[i])
    indent = lines[first][:len(lines[first]) - len(lines[first].lstrip())]
    lines.insert(closing + 1, indent + statement)
    return '\n'.join(lines)
