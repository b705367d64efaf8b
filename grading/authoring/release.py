"""Release cleaning: the preprocessor that ends ``nbgrader generate_assignment``.

``CleanRelease`` (``nbgrader generate_assignment``)
    nbgrader copies every non-notebook file of source/<assignment> into the release as it
    is. This preprocessor then removes from the release every file that is not a notebook
    or matches none of ``release_files`` (build artefacts such as a trained model left in
    source/ by a notebook run), and strips the solution regions of every released .py
    file (see grading.authoring.pysolutions). A problem raises, so nbgrader reports the assignment
    as failed, deletes the partial release and exits with status 1: a release with
    solutions in it is never left behind.
"""
import fnmatch
from pathlib import Path

from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import List, Unicode

from grading.authoring.pysolutions import SOLUTION, find_regions, strip_file



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
