"""``nbgrader collect`` that reports what a submission lacks or carries too much of.

Stock collect copies each student's newest submission from the exchange into
``submitted/<student>/hw5``, leaving out the files that match ``CourseDirectory.ignore``
(this course adds the dataset folders) and single files over
``CourseDirectory.max_file_size`` with a warning. A submission larger than
``CourseDirectory.max_dir_size`` makes it stop with "Directory size is too big", and
counts the left-out files too: one student with CIFAR-10 in the folder stops the
collection of the whole class. A submission that lacks ``nndl/conv_layers.py`` (handed
in at the top of the folder, say) is collected without a word and scores 0 in every test
of it.

``CheckedCollect`` (``c.ExchangeFactory.collect`` in ``nbgrader_config.py``) measures
only what would be copied, reports an oversized submission and does not copy it, goes on
with the other students, reports every student's missing files and the folders left
out, and ends with an error (exit status 1) naming the students not collected. An
oversized submission is set aside before nbgrader touches ``submitted/``: with
``--update`` the copy collected earlier stays (stock collect deletes it first).
"""
import os

from nbgrader.exchange.abc import ExchangeError
from nbgrader.exchange.default import ExchangeCollect
from nbgrader.utils import ignore_patterns

from grading.authoring.course import STUDENT_FILES


def copied_files(src, exclude, include, max_file_size):
    """Paths (relative to ``src``) that ``Exchange.do_copy`` copies, and those it leaves out.

    Uses nbgrader's own ignore function, so the answer is the copy's: returns
    ``(copied, left_out)`` as two sorted lists; a left-out folder is listed with a
    trailing slash and its content is not visited.
    """
    ignore = ignore_patterns(exclude=exclude, include=include, max_file_size=max_file_size)
    copied, left_out = [], []
    for folder, subfolders, files in os.walk(src):
        names = set(ignore(folder, subfolders + files))
        relative = os.path.relpath(folder, src)
        prefix = '' if relative == '.' else relative + '/'
        left_out += [prefix + name + ('/' if name in subfolders else '') for name in names]
        subfolders[:] = [name for name in subfolders if name not in names]
        copied += [prefix + name for name in files if name not in names]
    return sorted(copied), sorted(left_out)


class CheckedCollect(ExchangeCollect):
    """Collect, reporting oversized submissions (not copied) and missing student files."""

    def _copied(self, src):
        return copied_files(src, self.coursedir.ignore, self.coursedir.include,
                            self.coursedir.max_file_size)

    def _oversized(self, student, src):
        """Log and return True if what would be copied of ``src`` is over max_dir_size."""
        copied, _ = self._copied(src)
        size = sum(os.path.getsize(os.path.join(src, name)) for name in copied
                   if not os.path.islink(os.path.join(src, name)))
        if size <= 1000 * self.coursedir.max_dir_size:
            return False
        self.log.error("%s: NOT COLLECTED, the submission is %.1f MB, more than "
                       "CourseDirectory.max_dir_size (%g MB); largest files: %s",
                       student, size / 1e6, self.coursedir.max_dir_size / 1000,
                       ', '.join(_largest(src, copied)))
        return True

    def do_copy(self, src, dest, log=None):
        student = os.path.basename(src).rsplit('+', 3)[0]   # <student>+<assignment>+<time>+...
        copied, left_out = self._copied(src)
        if left_out:
            self.log.warning("%s: left out %s (CourseDirectory.ignore, include, max_file_size)",
                             student, ', '.join(left_out))
        missing = [name for name in STUDENT_FILES if name not in copied]
        if missing:
            self.log.warning("%s: the submission has no %s; its tests will score 0 (files "
                             "found: %s)", student, ', '.join(missing), ', '.join(copied))
        # Stock do_copy measures the left-out files too; what it copies was measured above.
        saved = self.coursedir.max_dir_size
        self.coursedir.max_dir_size = self.get_size(src) // 1000 + 1
        try:
            super().do_copy(src, dest, log)
        finally:
            self.coursedir.max_dir_size = saved

    def copy_files(self):
        # Oversized submissions never reach nbgrader's loop, which would first delete the
        # copy collected before (--update) and make submitted/<student>/.
        self.not_collected = [rec['username'] for rec in self.src_records
                              if self._oversized(rec['username'],
                                                 os.path.join(self.inbound_path, rec['filename']))]
        self.src_records = [rec for rec in self.src_records
                            if rec['username'] not in self.not_collected]
        super().copy_files()
        if self.not_collected:
            message = f"not collected (too large, see above): {', '.join(self.not_collected)}"
            self.log.error(message)     # CollectApp reports an ExchangeError without its text
            raise ExchangeError(message)


def _largest(src, names, count=3):
    sizes = sorted(((os.path.getsize(os.path.join(src, name)), name) for name in names),
                   reverse=True)[:count]
    return [f"{name} ({size / 1e6:.1f} MB)" for size, name in sizes]
