"""Submitted symbolic links are not followed into the sandbox.

``nbgrader autograde`` copies every file of ``submitted/<student>/<assignment>`` into the
autograded folder with ``shutil.copy``, which follows symbolic links with the
instructor's rights. A submission (unpacked from an uploaded archive, say) holding
``notes.txt -> /course/source/hw5/CNN.ipynb`` would thus bring the hidden tests, or the
gradebook, into the folder the sandbox makes visible.

``DropSubmittedLinks`` runs first among ``Autograde.sanitize_preprocessors`` (after
nbgrader has copied the files, before any code runs): it deletes from the autograded
folder the copy of every symbolic link of the submission and logs a warning. The student's
real files are graded as usual.
"""

import os

from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor


def submitted_links(submitted_dir):
    """Paths, relative to ``submitted_dir``, of the symbolic links in it (not followed)."""
    links = []
    for dirpath, dirnames, filenames in os.walk(submitted_dir):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                links.append(os.path.relpath(path, submitted_dir))
    return sorted(links)


class DropSubmittedLinks(NbGraderPreprocessor):
    """Remove from the autograded folder what nbgrader copied through submitted links."""

    def preprocess(self, nb, resources):
        submitted_dir = resources["metadata"]["path"]
        info = resources["nbgrader"]
        coursedir = self._coursedir()
        autograded_dir = coursedir.format_path(coursedir.autograded_directory,
                                               info["student"], info["assignment"])
        for relative in submitted_links(submitted_dir):
            copy = os.path.join(autograded_dir, relative)
            if os.path.lexists(copy) and not os.path.isdir(copy):
                os.remove(copy)
            self.log.warning("Submission of %s: %s is a symbolic link (to %s); not graded",
                             info["student"], relative,
                             os.readlink(os.path.join(submitted_dir, relative)))
        return nb, resources

    def _coursedir(self):
        node = self.parent
        while node is not None:
            if isinstance(getattr(node, "coursedir", None), CourseDirectory):
                return node.coursedir
            node = getattr(node, "parent", None)
        return CourseDirectory(parent=self)
