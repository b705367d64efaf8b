"""Feedback without the hidden tests: the preprocessor of ``nbgrader generate_feedback``.

Autograded notebooks hold the full test cells, and nbgrader's feedback shows them
(jupyter/nbgrader#917). ``HideHiddenTests`` replaces every hidden-test region by one
comment line and removes from error tracebacks the frames that quote the test cell's
code, keeping the error message itself (which says which case failed and how) and the
frames in the student's own files.
"""
import re

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

_ANSI = re.compile(r'\x1b\[[0-9;]*m')
# First line of a traceback frame that quotes notebook cell code, across IPython versions.
_CELL_FRAME = re.compile(r'^\s*(Cell In ?\[|Input In ?\[|<ipython-input-|File <ipython-input-)')


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden-test code (source and traceback quotes) from feedback notebooks."""

    begin_marker = Unicode("BEGIN HIDDEN TESTS").tag(config=True)
    end_marker = Unicode("END HIDDEN TESTS").tag(config=True)
    placeholder = Unicode("# (hidden tests: not shown)").tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != 'code' or self.begin_marker not in cell.source:
            return cell, resources
        cell.source = self._strip_source(cell.source)
        for output in cell.get('outputs', []):
            if output.output_type == 'error':
                output.traceback = [self._hide_cell_frame(frame) for frame in output.traceback]
        return cell, resources

    def _strip_source(self, source):
        kept, hidden = [], False
        for line in source.split('\n'):
            if self.begin_marker in line:
                if hidden:
                    raise ValueError("HideHiddenTests: nested hidden-test regions")
                hidden = True
                indent = line[:len(line) - len(line.lstrip())]
                kept.append(indent + self.placeholder)
            elif self.end_marker in line:
                hidden = False
            elif not hidden:
                kept.append(line)
        if hidden:
            raise ValueError("HideHiddenTests: a hidden-test region is never closed")
        return '\n'.join(kept)

    @staticmethod
    def _hide_cell_frame(frame):
        """A traceback frame that quotes the test cell becomes one line without code."""
        plain = _ANSI.sub('', frame)
        if not _CELL_FRAME.match(plain):
            return frame
        return plain.splitlines()[0] + '\n    (the code of this test cell is not shown)'
