"""The content of the hw5 notebooks (one module per notebook), built by grading.authoring.build_source.

Every graded cell follows the same pattern:
- it imports what it uses (so a name the student redefined earlier cannot change a test);
- a visible part checks one case against a computation the student can see and rerun
  (the course's fast layers, a worked example, a property of the result);
- a ``### BEGIN HIDDEN TESTS`` region checks the same case on other inputs against a
  reference (grading.authoring.notebooks.references), never nndl; during autograding the grader
  computes every expected value itself, outside the student's kernel (grading/sandbox/judge.py).
Each case (stride > 1, no padding, non-square kernel, overlapping windows, test mode, ...)
is a cell of its own, so the score shows which ones work.
"""
import ast

from grading.authoring.nbbuild import tests as _tests_cell
from grading.authoring.notebooks.references import REFERENCES_BEGIN, REFERENCES_END

SETUP = '''
# Run this cell first. (It is read-only: the autograder runs it as it is here.)
%load_ext autoreload
%autoreload 2
import os
import time

import numpy as np

from utils.checks import require_local_packages

# The autograder runs the notebook with NBGRADER_EXECUTION=autograde and then skips the
# demonstrations that earn no points (timings, training).
GRADING = os.environ.get('NBGRADER_EXECUTION') == 'autograde'

# Stop here if nndl or utils are not the copies in this folder, i.e. not your code.
require_local_packages()
print("nndl and utils come from", os.getcwd())
'''


def points_text(points):
    """'1 point', '2 points'."""
    return f"{points} point{'' if points == 1 else 's'}"


def graded(grade_id, points, visible, hidden, references=()):
    """A test cell: ``visible`` code, then ``references`` and ``hidden`` as hidden tests.

    The references sit between REFERENCES_BEGIN and REFERENCES_END: during autograding
    the grader replaces that block by stand-ins before the cell reaches the student's
    kernel (grading/sandbox/judge.py).
    """
    blocks = [block.strip('\n') for block in references]
    for block in blocks:   # the grader seals every function of this block in the kernel
        helpers = [node.name for node in ast.parse(block).body
                   if isinstance(node, ast.FunctionDef) and not node.name.startswith('reference_')]
        if helpers:
            raise ValueError(f"{grade_id}: {helpers} in the references block would be sealed "
                             "in the student's kernel; pass helpers of the checks in `hidden`")
    if blocks:
        blocks = [REFERENCES_BEGIN + '\n' + '\n\n'.join(blocks) + '\n' + REFERENCES_END]
    blocks.append(hidden.strip('\n'))
    source = '\n'.join([visible.strip('\n'), '### BEGIN HIDDEN TESTS', '\n\n'.join(blocks),
                        '### END HIDDEN TESTS'])
    return _tests_cell(grade_id, points, source)
