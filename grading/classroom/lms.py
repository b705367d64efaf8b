"""Collecting hw5 from a learning management system (Canvas, Moodle): ``nbgrader zip_collect``.

An LMS download flattens every submission into one folder and renames each file after
the student who uploaded it; Canvas writes ``lastfirst_12345_6789012_conv_layers.py``
(name, Canvas user id, submission id, the file's name), adds ``late_`` after the name of
a late submission and ``-1``, ``-2`` before the extension of a file uploaded again.
nbgrader's stock collector can put a flattened file back only at the top of the
assignment folder, so ``nndl/conv_layers.py`` would land in ``hw5/conv_layers.py``:
autograde then finds no ``nndl/conv_layers.py`` of the student's and every test of it
scores 0, silently.

``LmsCollector`` (``c.ZipCollectApp.collector_plugin`` in ``nbgrader_config.py``) puts
each file where the assignment wants it (``nndl/conv_layers.py``, ``nndl/cnn.py``, the
three notebooks, ``cifar10_cnn.npz``), also from a zip the student uploaded (nbgrader
extracts it), keeps a student's newest upload of each, and reports, per student, every
file it could not place, every file it left out (``CourseDirectory.ignore``, such as
``datasets/``, or over ``CourseDirectory.max_file_size``) and every file that is
missing; the report is logged and written to ``downloaded/hw5/report.txt``. The course's
provided files (``utils/*.py``, ``nndl/layers.py``, ...) are skipped without a word:
autograde uses the instructor's copy of those anyway.

    mkdir -p downloaded/hw5/archive && cp submissions.zip downloaded/hw5/archive/
    nbgrader zip_collect hw5                  # --force to collect again
"""
import fnmatch
import os
import re
from collections import defaultdict
from pathlib import Path, PurePosixPath

from nbgrader.plugins import FileNameCollectorPlugin
from traitlets import Enum, Unicode

from grading.authoring.course import ASSIGNMENT, MODEL_FILE, NOTEBOOKS, STUDENT_FILES, released_files

# Canvas: lastfirst[_late]_<user id>_<submission id>_<file name as uploaded>
# (a zip the student uploaded is extracted by nbgrader into a folder of that name).
CANVAS_PATTERN = (r'^(?P<name>[^_/]+)_(?:(?i:late)_)?(?P<user_id>\d+)_(?P<submission_id>\d+)_'
                  r'(?P<filename>.+)$')
# Moodle ("Download all submissions"): Full Name_<id>_assignsubmission_file_<file name>,
# or the same as a folder holding the files.
MOODLE_PATTERN = (r'^(?P<name>[^/]+?)_(?P<user_id>\d+)_assignsubmission_file_/?'
                  r'(?P<filename>.+)$')
# What an LMS adds to a file uploaded again: conv_layers-1.py, or a browser's "CNN (1).ipynb".
_COPY = re.compile(r'^(?P<stem>.+?)(?:-(?P<dash>\d+)| \((?P<paren>\d+)\))?(?P<ext>\.[^.]+)$')


def expected_files():
    """{lower-case file name: path in the assignment folder} of what a student hands in."""
    paths = [*STUDENT_FILES, *(f"{name}.ipynb" for name in NOTEBOOKS), MODEL_FILE]
    return {PurePosixPath(path).name.lower(): path for path in paths}


def _match_tail(pattern, relative):
    """The match of ``pattern`` on the longest tail of path ``relative`` it fits, or None.

    nbgrader extracts the download into a folder named after the zip, and a student's own
    zip into a folder named after that zip: the LMS's name is on a component further in.
    """
    parts = relative.split('/')
    for start in range(len(parts)):
        match = pattern.match('/'.join(parts[start:]))
        if match:
            return match
    return None


def split_copy_number(filename):
    """('conv_layers.py', 1) for 'conv_layers-1.py'; (filename, 0) for a first upload."""
    match = _COPY.match(filename)
    if not match:
        return filename, 0
    number = match['dash'] or match['paren']
    if number is None:
        return filename, 0
    return match['stem'] + match['ext'], int(number)


class LmsCollector(FileNameCollectorPlugin):
    """Put a flattened LMS download back into the layout of hw5, reporting what it cannot."""

    named_regexp = Unicode(
        CANVAS_PATTERN,
        help="Regular expression for a downloaded file's path relative to the extracted "
             "folder, with the groups user_id, name and filename (default: Canvas; "
             "grading.classroom.lms.MOODLE_PATTERN for Moodle).",
    ).tag(config=True)

    student_id = Enum(
        ['user_id', 'name'], default_value='user_id',
        help="What becomes the nbgrader student id: the LMS's numeric user id (unique; "
             "the 'ID' column of a Canvas grade export) or the name part of the file name.",
    ).tag(config=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._plan = None       # {absolute path: collect() result or None}
        # The folder of the extracted download; by default ZipCollectApp's.
        self.extracted_root = None
        self.report = {}        # {student or '(no student)': [problem, ...]}

    def collect(self, submitted_file):
        if self._plan is None:
            self._plan = self._make_plan(self._extracted_root(submitted_file))
        return self._plan.get(os.path.abspath(submitted_file))

    def _extracted_root(self, submitted_file):
        if self.extracted_root is not None:
            return Path(self.extracted_root)
        app = self.parent
        if app is not None and hasattr(app, '_format_collect_path'):
            return Path(app._format_collect_path(app.extracted_directory))
        return Path(submitted_file).parent

    def _coursedir(self):
        return getattr(self.parent, 'coursedir', None)

    def _make_plan(self, root):
        """Decide for every file of the download where it goes; build the report."""
        expected = expected_files()
        provided = {PurePosixPath(path).name.lower() for path in released_files()}
        pattern = re.compile(self.named_regexp)
        coursedir = self._coursedir()
        max_bytes = 1000 * coursedir.max_file_size if coursedir is not None else None
        ignore = coursedir.ignore if coursedir is not None else []
        candidates = defaultdict(list)   # (student, target) -> [(copy number, path)]
        students = {}
        report = defaultdict(list)
        for path in sorted(p for p in root.rglob('*') if p.is_file()):
            relative = path.relative_to(root).as_posix()
            if path.suffix in ('.zip', '.gz') and path.with_suffix('').is_dir():
                continue    # an uploaded archive, extracted by nbgrader next to it
            match = _match_tail(pattern, relative)
            if not match:
                report['(no student)'].append(
                    f"could not place {relative}: not an LMS submission file name "
                    f"(LmsCollector.named_regexp)")
                continue
            student = match[self.student_id]
            students[student] = match['name']
            inner = PurePosixPath(match['filename'])
            left_out = [part for part in inner.parts
                        if any(fnmatch.fnmatch(part, glob) for glob in ignore)]
            if left_out:
                report[student].append(f"left out {relative} ({left_out[0]}: "
                                       f"CourseDirectory.ignore)")
                continue
            filename, number = split_copy_number(inner.name)
            target = expected.get(filename.lower())
            if target is None:
                if filename.lower() in provided:
                    self.log.debug("%s: %s is the course's file; autograde uses its own copy",
                                   student, relative)
                else:
                    report[student].append(
                        f"could not place {relative}: {filename} is not a file of "
                        f"{ASSIGNMENT} (expected: {', '.join(sorted(expected.values()))})")
                continue
            if max_bytes and path.stat().st_size > max_bytes:
                report[student].append(
                    f"not collected {relative}: {path.stat().st_size / 1e6:.1f} MB, more than "
                    f"CourseDirectory.max_file_size ({max_bytes / 1e6:g} MB)")
                continue
            candidates[student, target].append((number, relative, path))
        plan = {}
        for (student, target), uploads in sorted(candidates.items()):
            uploads.sort()
            *older, (_, kept, newest) = uploads
            plan[os.path.abspath(newest)] = {'student_id': student, 'file_id': target}
            for _, relative, _ in older:
                report[student].append(f"not collected {relative}: another upload of "
                                       f"{target} ({kept} is newer)")
        for student in students:
            for target in sorted(expected.values()):
                if (student, target) not in candidates:
                    report[student].append(f"missing {target}")
        self.report = dict(report)
        self._write_report(root, students)
        return plan

    def _write_report(self, root, students):
        lines = []
        for student in sorted(self.report):
            name = f" ({students[student]})" if student in students else ''
            for problem in self.report[student]:
                self.log.warning("%s%s: %s", student, name, problem)
                lines.append(f"{student}{name}: {problem}")
        if not lines:
            self.log.info("every file of %d students placed, nothing missing", len(students))
            lines.append(f"every file of {len(students)} students placed, nothing missing")
        (root.parent / 'report.txt').write_text('\n'.join(lines) + '\n', encoding='utf-8')
