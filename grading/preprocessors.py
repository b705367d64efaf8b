"""The nbgrader preprocessors of the course, plugged in by nbgrader_config.py.

``CleanRelease`` (``nbgrader generate_assignment``)
    nbgrader copies every non-notebook file of source/<assignment> into the release as it
    is. This preprocessor then removes from the release every file that is not a notebook
    or matches none of ``release_files`` (build artefacts such as a trained model left in
    source/ by a notebook run), and strips the solution regions of every released .py
    file (see grading.pysolutions). A problem raises, so nbgrader reports the assignment
    as failed, deletes the partial release and exits with status 1: a release with
    solutions in it is never left behind.

``GradeCellStderrToStdout`` (``nbgrader autograde``, right after Execute)
    nbgrader scores a test cell 0 as soon as it printed anything on stderr
    (nbgrader.utils.determine_grade), so a harmless warning of the student's code (a
    RuntimeWarning, a tqdm progress bar) would cost the points of a test that passed.
    The tests of this course fail by raising, never by writing to stderr, so in grade
    cells stderr text is relabelled as stdout: the student still sees it, and the grade
    depends only on whether the tests raised.

``HideHiddenTests`` (``nbgrader generate_feedback``)
    Autograded notebooks hold the full test cells, and nbgrader's feedback shows them
    (jupyter/nbgrader#917). This preprocessor replaces every hidden-test region by one
    comment line and removes from error tracebacks the frames that quote the test cell's
    code, keeping the error message itself (which says which case failed and how) and
    the frames in the student's own files.
"""
import fnmatch
import re
from pathlib import Path

from nbgrader import utils as nbgrader_utils
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import List, Unicode

from grading.pysolutions import SOLUTION, find_regions, strip_file

_ANSI = re.compile(r'\x1b\[[0-9;]*m')
# First line of a traceback frame that quotes notebook cell code, across IPython versions.
_CELL_FRAME = re.compile(r'^\s*(Cell In ?\[|Input In ?\[|<ipython-input-|File <ipython-input-)')


class CleanRelease(NbGraderPreprocessor):
    """Keep only the released files of an assignment and strip their solutions."""

    release_files = List(
        Unicode(), ['nndl/*.py', 'utils/*.py'],
        help="Globs (relative to the assignment folder, '/'-separated) of the files other "
             "than notebooks that go into the release; everything else is removed.",
    ).tag(config=True)

    def preprocess(self, nb, resources):
        release = self._release_directory(resources['nbgrader']['assignment'])
        for path in sorted(p for p in release.rglob('*') if p.is_file()):
            relative = path.relative_to(release).as_posix()
            if path.suffix == '.ipynb' and '/' not in relative:
                continue
            if not any(fnmatch.fnmatchcase(relative, pattern) for pattern in self.release_files):
                self.log.warning("Not releasing %s (matches no CleanRelease.release_files glob)",
                                 relative)
                path.unlink()
                continue
            if path.suffix == '.py' and strip_file(path):
                self.log.info("Stripped the solutions of %s", relative)
            if path.suffix == '.py':
                left = [region for region in find_regions(path.read_text(encoding='utf-8'),
                                                          str(path)) if region.kind == SOLUTION]
                if left:  # cannot happen after strip_file; a last guard against leaks
                    raise RuntimeError(f"{path} still holds solution regions after stripping")
        for folder in sorted((p for p in release.rglob('*') if p.is_dir()), reverse=True):
            if not any(folder.iterdir()):
                folder.rmdir()
        return nb, resources

    def _release_directory(self, assignment_id):
        """The release folder of the assignment, from the converter's CourseDirectory."""
        node, coursedir = self.parent, None
        while node is not None and coursedir is None:
            candidate = getattr(node, 'coursedir', None)
            coursedir = candidate if isinstance(candidate, CourseDirectory) else None
            node = getattr(node, 'parent', None)
        if coursedir is None:
            coursedir = CourseDirectory(parent=self)
        release = Path(coursedir.format_path(coursedir.release_directory, '.', assignment_id))
        if not release.is_dir():
            raise FileNotFoundError(f"CleanRelease: release folder {release} does not exist")
        return release


class GradeCellStderrToStdout(NbGraderPreprocessor):
    """Relabel the stderr output of grade cells as stdout, so warnings cost no points."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == 'code' and nbgrader_utils.is_grade(cell):
            for output in cell.outputs:
                if output.output_type == 'stream' and output.name == 'stderr':
                    output.name = 'stdout'
        return cell, resources


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
