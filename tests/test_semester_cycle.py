"""A whole assignment through nbgrader's exchange, with real accounts on this machine.

One instructor and two students are made with useradd (a unique prefix, removed at the
end; homes 0700 as on a JupyterHub), each with a venv of their own built from the
system's Python: the students' holds release/hw5/requirements.txt and nbgrader (the
Assignments tab and the Validate button), the instructor's the course packages too. The
exchange root is a folder of the test. Then, each command run as the account whose
command it is:

    instructor  generate_assignment, db student import (roster), release_assignment
    students    fetch_assignment, work (one complete, one partial), submit
    instructor  due date and an extension, collect, autograde (sandboxed), the written
                answers graded through nbgrader's API as the formgrader stores them,
                one student regraded, generate_feedback, release_feedback, export
    students    fetch_feedback

and the tests check each student's final grade (autograded points, late penalty, points
by hand) and that each student reads their own feedback and no one else's.
Needs root (useradd, switching users), /usr/bin/python3 with venv, and bubblewrap.
"""
import csv
import datetime
import html
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from grading.authoring import course

from grading.classroom import demo, samples
from grading.classroom.jupyter_config import instructor_config, student_config, write_config

SYSTEM_PYTHON = Path('/usr/bin/python3')
PREFIX = f"nn{os.getpid() % 100000:05d}"
INSTRUCTOR, ALICE, BOB = f"{PREFIX}i", f"{PREFIX}a", f"{PREFIX}b"
AUTOGRADED = 54
MODEL_POINTS = 4       # no CIFAR-10 for the trained-model test here: 0 for everyone
MANUAL = {'why_3x3': 2, 'one_by_one': 2, 'training_report': 2}


def why_not_runnable():
    if os.geteuid() != 0:
        return "needs root: it creates accounts with useradd and runs commands as them"
    for tool in ('useradd', 'userdel', 'bwrap'):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if subprocess.run([str(SYSTEM_PYTHON), '-c', 'import venv, ensurepip'],
                      capture_output=True).returncode != 0:
        return f"{SYSTEM_PYTHON} with venv and ensurepip is needed (apt-get install python3-venv)"
    return None


def readable_copy(base):
    """A copy of the repository's working tree that the accounts can read (the checkout
    itself may lie in a folder closed to them, such as /root)."""
    repo = base / 'repo'
    shutil.copytree(course.REPO_ROOT, repo, ignore=shutil.ignore_patterns(
        '.git', '.venv', '__pycache__', '*.egg-info', 'autograded', 'submitted', 'feedback',
        'gradebook.db', '.nndl-expected', 'integrity'))
    for path in [repo, *repo.rglob('*')]:
        path.chmod(0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)
    return repo


pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(why_not_runnable() is not None,
                                 reason=why_not_runnable() or '')]


class Account:
    def __init__(self, name, base):
        self.name, self.home = name, base / 'home' / name
        subprocess.run(['useradd', '--create-home', '--home-dir', str(self.home),
                        '--user-group', '--shell', '/bin/bash', '-K', 'HOME_MODE=0700', name],
                       check=True, capture_output=True)
        entry = pwd.getpwnam(name)
        self.uid, self.gid = entry.pw_uid, entry.pw_gid
        self.venv = self.home / 'venv'

    def run(self, *args, cwd=None, check=True):
        """Run a command as this account, in its home (or cwd), with its venv first on PATH."""
        env = {'HOME': str(self.home), 'USER': self.name, 'LANG': 'C.UTF-8',
               'PATH': f"{self.venv / 'bin'}:/usr/bin:/bin"}
        result = subprocess.run([str(a) for a in args], cwd=cwd or self.home, env=env,
                                user=self.uid, group=self.gid, extra_groups=[],
                                capture_output=True, text=True, timeout=900)
        if check and result.returncode != 0:
            raise AssertionError(f"{self.name}: {' '.join(map(str, args))} failed "
                                 f"({result.returncode}):\n{result.stdout[-4000:]}\n"
                                 f"{result.stderr[-6000:]}")
        return result

    def nbgrader(self, *args, cwd=None, check=True):
        return self.run(self.venv / 'bin' / 'python', '-m', 'nbgrader', *args, cwd=cwd,
                        check=check)

    def own(self, *paths):
        for path in paths:
            subprocess.run(['chown', '-R', f"{self.uid}:{self.gid}", str(path)], check=True)

    def remove(self):
        subprocess.run(['userdel', '--remove', self.name], capture_output=True)


def build_venvs(accounts, editable_repo_for, repo):
    """One venv per account, built in parallel by root with pip's cache, then given away."""
    requirements = course.RELEASE_DIR / 'requirements.txt'
    wanted = ['-r', str(requirements)]
    if not re.search(r'^nbgrader\b', requirements.read_text(), re.MULTILINE):
        wanted.append('nbgrader')
    processes = []
    for account in accounts:
        commands = [f"{SYSTEM_PYTHON} -m venv {account.venv}",
                    f"{account.venv}/bin/pip install --quiet {' '.join(wanted)}"]
        if account is editable_repo_for:
            commands.append(f"{account.venv}/bin/pip install --quiet --no-deps "
                            f"-e {repo}")
        processes.append((account, subprocess.Popen(
            ['bash', '-c', ' && '.join(commands)], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)))
    for account, process in processes:
        output, _ = process.communicate(timeout=1200)
        assert process.returncode == 0, f"venv of {account.name}:\n{output[-4000:]}"
        account.own(account.venv)


@pytest.fixture(scope='module')
def semester():
    base = Path(tempfile.mkdtemp(prefix='nndl-semester-'))
    base.chmod(0o755)
    (base / 'home').mkdir(mode=0o755)
    accounts = []
    try:
        instructor, alice, bob = (Account(name, base) for name in (INSTRUCTOR, ALICE, BOB))
        accounts += [instructor, alice, bob]
        yield run_semester(base, instructor, alice, bob)
    finally:
        for account in accounts:
            account.remove()
        shutil.rmtree(base, ignore_errors=True)


def run_semester(base, instructor, alice, bob):
    exchange = base / 'exchange'
    exchange.mkdir()
    exchange.chmod(0o1777)             # the set-up step: writable by all, sticky
    # NNDL_DATA, the held-out data autograde requires: the repository's sample, whose few
    # test images cannot grade a model (the trained-model test scores 0 for everyone)
    data = base / 'data'
    shutil.copytree(course.REPO_ROOT / 'data_sample', data)
    for path in [data, *data.rglob('*')]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    repo = readable_copy(base)
    build_venvs([instructor, alice, bob], editable_repo_for=instructor, repo=repo)
    for student in (alice, bob):
        write_config(student_config(exchange), student.venv)
        student.own(student.venv)

    # Instructor: the course directory, the release, the roster.
    course_dir = demo.prepare_course(instructor.home / 'nndl', repo_root=repo)
    write_config(instructor_config(course_dir, exchange), instructor.venv)
    roster = course_dir / 'roster.csv'
    with open(roster, 'w', newline='') as out:
        writer = csv.writer(out)
        writer.writerow(['id', 'first_name', 'last_name', 'email'])
        writer.writerow([alice.name, 'Alice', 'Liddell', 'alice@example.org'])
        writer.writerow([bob.name, 'Bob', 'Dylan', 'bob@example.org'])
    instructor.own(course_dir, instructor.venv)
    elsewhere = instructor.home                       # commands from the home folder
    instructor.nbgrader('generate_assignment', course.ASSIGNMENT, cwd=elsewhere)
    instructor.nbgrader('db', 'student', 'import', roster, cwd=elsewhere)
    instructor.nbgrader('release_assignment', course.ASSIGNMENT, cwd=elsewhere)

    # Students: fetch, work, submit.
    work = base / 'work'
    for student, kind in ((alice, 'complete'), (bob, 'partial')):
        student.nbgrader('fetch_assignment', course.ASSIGNMENT)
        sample = samples.make_sample(kind, course_dir / 'release' / course.ASSIGNMENT,
                                     work / kind / course.ASSIGNMENT)
        for path in [base, work, work / kind, *sample.rglob('*'), sample]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        for relative in [*course.STUDENT_FILES, *(f"{n}.ipynb" for n in course.NOTEBOOKS),
                         course.MODEL_FILE]:
            if (sample / relative).exists():
                student.run('cp', sample / relative, student.home / course.ASSIGNMENT / relative)
        student.nbgrader('submit', course.ASSIGNMENT)

    # Instructor: due date 36 hours ago, an extension of two days for Alice, collect,
    # autograde, grade the written answers, feedback.
    due = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=36)
    instructor.nbgrader('db', 'assignment', 'add', course.ASSIGNMENT,
                        f"--duedate={due:%Y-%m-%d %H:%M:%S} UTC", cwd=elsewhere)
    instructor.run(instructor.venv / 'bin' / 'python', '-c', (
        "import datetime; from nbgrader.api import Gradebook\n"
        f"with Gradebook('sqlite:///{course_dir}/gradebook.db') as gb:\n"
        f"    gb.update_or_create_submission('{course.ASSIGNMENT}', '{alice.name}',"
        " extension=datetime.timedelta(days=2))"))
    collect = instructor.nbgrader('collect', course.ASSIGNMENT, cwd=elsewhere)
    autograde = instructor.run('env', f"NNDL_DATA={data}", instructor.venv / 'bin' / 'python',
                               '-m', 'nbgrader', 'autograde', course.ASSIGNMENT, cwd=elsewhere)
    manual = {alice.name: dict(MANUAL), bob.name: {'why_3x3': 1, 'one_by_one': 2,
                                                   'training_report': 0.5}}
    instructor.run(instructor.venv / 'bin' / 'python', '-c', GRADE_BY_HAND.format(
        db=f"sqlite:///{course_dir}/gradebook.db", assignment=course.ASSIGNMENT, manual=manual))
    # Regrading one student (after a fix): the hand-given points and the extension stay.
    instructor.run('env', f"NNDL_DATA={data}", instructor.venv / 'bin' / 'python', '-m',
                   'nbgrader', 'autograde', course.ASSIGNMENT, '--student', bob.name, '--force',
                   cwd=elsewhere)
    instructor.nbgrader('generate_feedback', course.ASSIGNMENT, cwd=elsewhere)
    instructor.nbgrader('release_feedback', course.ASSIGNMENT, cwd=elsewhere)
    for student in (alice, bob):
        student.nbgrader('fetch_feedback', course.ASSIGNMENT)
    instructor.nbgrader('export', cwd=elsewhere)
    with open(elsewhere / 'grades.csv', newline='') as table:
        grades = {row['student_id']: row for row in csv.DictReader(table)}
    return {'grades': grades, 'course': course_dir, 'exchange': exchange,
            'alice': alice, 'bob': bob,
            'log': collect.stdout + collect.stderr + autograde.stdout + autograde.stderr}


# What the formgrader's PUT /formgrader/api/grade/<id> does (apihandlers.GradeHandler):
# set manual_score on the Grade and commit.
GRADE_BY_HAND = '''
from nbgrader.api import Gradebook
with Gradebook({db!r}) as gb:
    for student, scores in {manual!r}.items():
        submission = gb.find_submission({assignment!r}, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.name in scores:
                    grade.manual_score = scores[grade.name]
                    comment = gb.find_comment(grade.name, notebook.name, {assignment!r}, student)
                    comment.manual_comment = "graded by hand"
    gb.db.commit()
'''


def test_each_student_gets_the_grade_their_work_deserves(semester):
    """nbgrader export's grades.csv: raw score, late penalty, final score."""
    full = AUTOGRADED - MODEL_POINTS
    partial = full - 12                         # the points of samples.PARTIAL_FAILS
    # 2 started days late, 10 % a day, of the points at his last autograde: the regrade
    # came after the grading by hand, so the hand-given 3.5 points count too.
    bob_penalty = 0.2 * (partial + 3.5)
    expected = {ALICE: (full + sum(MANUAL.values()), 0.0, full + sum(MANUAL.values())),
                BOB: (partial + 3.5, bob_penalty, partial + 3.5 - bob_penalty)}
    got = {student: tuple(round(float(row[key]), 2)
                          for key in ('raw_score', 'late_submission_penalty', 'score'))
           for student, row in semester['grades'].items()}
    assert got == {student: tuple(round(value, 2) for value in values)
                   for student, values in expected.items()}
    assert {row['max_score'] for row in semester['grades'].values()} == {'60.0'}


def feedback_pages(account):
    return sorted(account.home.glob(f"{course.ASSIGNMENT}/feedback/*/*.html"))


def page_text(path):
    return html.unescape(re.sub(r'<[^>]+>', ' ', path.read_text(encoding='utf-8')))


def test_each_student_fetches_their_own_feedback(semester):
    for name in ('alice', 'bob'):
        pages = feedback_pages(semester[name])
        assert sorted(p.name for p in pages) == sorted(f"{n}.html" for n in course.NOTEBOOKS)
        for page in pages:
            assert page.stat().st_uid == semester[name].uid
    alice_cnn = page_text(next(p for p in feedback_pages(semester['alice'])
                               if p.name == 'CNN.html'))
    bob_conv = page_text(next(p for p in feedback_pages(semester['bob'])
                              if p.name == 'ConvolutionalNetworks.html'))
    assert 'graded by hand' in alice_cnn
    assert '[stride 2, pad 1] out is wrong' in bob_conv


def test_no_student_can_read_another_students_feedback(semester):
    alice, bob = semester['alice'], semester['bob']
    for reader, owner in ((alice, bob), (bob, alice)):
        for page in feedback_pages(owner):
            attempt = reader.run('cat', page, check=False)
            assert attempt.returncode != 0 and 'Permission denied' in attempt.stderr
        # The exchange's feedback folder can be entered but not listed: a page is found
        # only by the hash of the student's own submission secret.
        listing = reader.run('ls', semester['exchange'] / 'nndl' / 'feedback', check=False)
        assert listing.returncode != 0 and 'Permission denied' in listing.stderr
        inbound = reader.run('ls', semester['exchange'] / 'nndl' / 'inbound', check=False)
        assert inbound.returncode != 0


def test_autograde_ran_sandboxed_and_collect_found_everything(semester):
    log = semester['log']
    assert 'WITHOUT a sandbox' not in log
    assert 'has no nndl' not in log
    for student in (ALICE, BOB):
        folder = semester['course'] / 'autograded' / student / course.ASSIGNMENT
        assert (folder / 'nndl' / 'conv_layers.py').is_file()
