"""Harmless stderr in a graded cell costs no points (``nbgrader autograde``, after Execute).

nbgrader scores a test cell 0 as soon as it printed anything on stderr
(``nbgrader.utils.determine_grade``), so a harmless warning of the student's code (a
RuntimeWarning, a tqdm progress bar) would cost the points of a test that passed. The
tests of this course fail by raising, never by writing to stderr, so in grade cells
``GradeCellStderrToStdout`` relabels stderr text as stdout: the student still sees it, and
the grade depends only on whether the tests raised.
"""
from nbgrader import utils as nbgrader_utils
from nbgrader.preprocessors import NbGraderPreprocessor


class GradeCellStderrToStdout(NbGraderPreprocessor):
    """Relabel the stderr output of grade cells as stdout, so warnings cost no points."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == 'code' and nbgrader_utils.is_grade(cell):
            for output in cell.outputs:
                if output.output_type == 'stream' and output.name == 'stderr':
                    output.name = 'stdout'
        return cell, resources
