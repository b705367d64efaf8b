"""nbgrader configuration files for where Jupyter looks, whatever folder it starts in.

nbgrader reads ``nbgrader_config.py`` from Jupyter's configuration folders
(``jupyter --paths``: ``~/.jupyter``, ``<sys.prefix>/etc/jupyter``, ``/etc/jupyter``),
then from the folder it starts in, then from the course directory
(``CourseDirectory.root``; by default the folder it starts in). A Jupyter server started
anywhere but the course directory, as on JupyterHub, gives its formgrader no course at
all, or, with ``CourseDirectory.root`` set by hand, the course's own configuration
(nbgrader reads it from the root); the course's ``nbgrader_config.py`` sets the root to
its own folder, so it is the course that is graded wherever it is read from.

    python -m grading.classroom.jupyter_config instructor [--prefix P] [--course-dir D] [--exchange-root X]
        writes P/etc/jupyter/nbgrader_config.py (P: this Python's sys.prefix) that points
        nbgrader, the formgrader included, at this course directory (the repository
        root), whose nbgrader_config.py then plugs in the course's plug-ins.

    python -m grading.classroom.jupyter_config student --prefix P [--exchange-root DIR]
        writes the students' configuration (the course id, the exchange, what is never
        submitted) into the image or venv P of the students.
"""
import argparse
import sys
from pathlib import Path

from grading.authoring.course import REPO_ROOT

COURSE_ID = 'nndl'
DEFAULT_EXCHANGE = '/srv/nbgrader/exchange'
# What students never submit (nbgrader submit reads the students' configuration).
STUDENT_IGNORE = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "datasets",
                  "cifar-10-batches-py", "cifar-10-python.tar.gz", "mnist"]


def instructor_config(course_dir=REPO_ROOT, exchange_root=None):
    """The text of the instructor's nbgrader_config.py for Jupyter's configuration folder."""
    lines = ['# Written by python -m grading.classroom.jupyter_config instructor: the course directory of',
             '# every nbgrader command and of the formgrader, wherever Jupyter starts. nbgrader',
             '# then reads the course\'s own nbgrader_config.py from that folder.',
             f'c.CourseDirectory.root = {str(Path(course_dir).resolve())!r}']
    if exchange_root:
        lines.append(f'c.Exchange.root = {str(exchange_root)!r}')
    return '\n'.join(lines) + '\n'


def student_config(exchange_root=DEFAULT_EXCHANGE, course_id=COURSE_ID):
    """The text of the students' nbgrader_config.py (their image or venv)."""
    return '\n'.join([
        '# Written by python -m grading.classroom.jupyter_config student.',
        f'c.CourseDirectory.course_id = {course_id!r}',
        f'c.Exchange.root = {str(exchange_root)!r}',
        '# Never submitted: the datasets and what Jupyter leaves behind.',
        f'c.CourseDirectory.ignore = {STUDENT_IGNORE!r}',
        'c.CourseDirectory.max_file_size = 20_000   # kB: a larger file is left out',
    ]) + '\n'


def write_config(text, prefix=sys.prefix):
    """Write ``text`` as ``<prefix>/etc/jupyter/nbgrader_config.py``; return its path."""
    folder = Path(prefix) / 'etc' / 'jupyter'
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / 'nbgrader_config.py'
    path.write_text(text, encoding='utf-8')
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m grading.classroom.jupyter_config', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('who', choices=['instructor', 'student'])
    parser.add_argument('--prefix', default=sys.prefix,
                        help="environment whose etc/jupyter gets the file (default: this "
                             "Python's sys.prefix)")
    parser.add_argument('--course-dir', default=str(REPO_ROOT),
                        help="the instructor's course directory (default: this repository)")
    parser.add_argument('--exchange-root', help=f"nbgrader's exchange folder (students' "
                                                f"default: {DEFAULT_EXCHANGE})")
    args = parser.parse_args(argv)
    if args.who == 'instructor':
        text = instructor_config(args.course_dir, exchange_root=args.exchange_root)
    else:
        text = student_config(args.exchange_root or DEFAULT_EXCHANGE)
    print("wrote", write_config(text, args.prefix))
    return 0


if __name__ == '__main__':
    sys.exit(main())
