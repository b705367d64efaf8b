"""nbgrader configuration of the course; every nbgrader command run here reads it.

The repository root is the course directory: source/, release/, submitted/, autograded/
and feedback/ sit next to this file. What the course adds to stock nbgrader lives in the
`grading` package (installed by `pip install -e .`); docs/instructors.md explains it.
"""
import os
import sys

try:
    from grading.authoring.course import ASSIGNMENT, MODEL_FILE, STUDENT_FILES
    from grading.authoring.release import CleanRelease
    from grading.classroom.exchange import CheckedCollect
    from grading.classroom.feedback import HideHiddenTests
    from grading.classroom.late import PercentPerDay
    from grading.classroom.lms import LmsCollector
    from grading.sandbox.config import configure_sandbox
    from grading.sandbox.faults import RecordReferenceTimes
    from grading.sandbox.stderr import GradeCellStderrToStdout
except ImportError as error:
    # traitlets would log an exception in this file and go on with the defaults, which
    # would release the solutions in nndl/*.py. SystemExit is not swallowed: stop here.
    sys.exit(f"nbgrader_config.py: cannot import the course's nbgrader plug-ins ({error}).\n"
             f"Install the course packages first: pip install -e . (at the repository root)")

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearHiddenTests,
                                    ClearMarkScheme, ClearOutput, ClearSolutions,
                                    ComputeChecksums, Execute, GetGrades, IgnorePattern,
                                    IncludeHeaderFooter, InstantiateTests, LimitOutput,
                                    LockCells, SaveAutoGrades, SaveCells)

c = get_config()  # noqa: F821 (provided by traitlets when it runs this file)

c.CourseDirectory.course_id = "nndl"
# The course directory is the folder of this file, wherever nbgrader was started: the
# formgrader of a Jupyter server started elsewhere grades this course with these settings
# (python -m grading.classroom.jupyter_config instructor; docs/semester.md).
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))

# The gradebook. Default: the SQLite file gradebook.db in the course directory (it holds
# student data and is never committed). For several graders, use a PostgreSQL server:
# c.CourseDirectory.db_url = "postgresql+psycopg2://USER:PASSWORD@HOST:5432/nndl_gradebook"

# What a submission may carry (nbgrader collect, zip_collect, autograde). The datasets
# never: folders and archives of CIFAR-10 and MNIST are left out wherever they are. A
# file over 20 MB is left out with a warning; a submission over 50 MB (what is left once
# those are out) is reported and not collected (grading.classroom.exchange.CheckedCollect), and the
# collection goes on with the other students. A submission is about 3 MB.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
                            "datasets", "cifar-10-batches-py", "cifar-10-python.tar.gz",
                            "mnist"]
c.CourseDirectory.max_file_size = 20_000   # kB
c.CourseDirectory.max_dir_size = 50_000    # kB
c.ExchangeFactory.collect = CheckedCollect

# nbgrader zip_collect (an LMS download in downloaded/hw5/archive/): file names such as
# lastfirst_12345_6789012_conv_layers.py go back to nndl/conv_layers.py; what cannot be
# placed is reported per student (downloaded/hw5/report.txt). Canvas by default; Moodle:
# c.LmsCollector.named_regexp = grading.classroom.lms.MOODLE_PATTERN.
c.ZipCollectApp.collector_plugin = LmsCollector

# Late work (the due date: nbgrader db assignment add hw5 --duedate=...; extensions:
# docs/semester.md). 10 % of a notebook's autograded points per started day after 15
# minutes of grace; 0 points after 5 days.
c.AssignLatePenalties.plugin_class = PercentPerDay
c.PercentPerDay.percent_per_day = 10
c.PercentPerDay.grace_minutes = 15
c.PercentPerDay.max_days = 5

# nbgrader generate_assignment: RecordReferenceTimes times each test cell on the solution
# (for its time limit when grading; docs/sandbox.md), stock preprocessors, then
# CleanRelease, which keeps only the notebooks, the modules of nndl/ and utils/ and the
# students' requirements.txt in the release and stubs out every ### BEGIN SOLUTION region
# of the released .py files.
c.GenerateAssignment.preprocessors = [
    RecordReferenceTimes, IncludeHeaderFooter, InstantiateTests, LockCells, ClearSolutions,
    ClearOutput, CheckCellMetadata, ComputeChecksums, SaveCells, ClearHiddenTests,
    ClearMarkScheme, ComputeChecksums, CheckCellMetadata,
    CleanRelease,
]
c.CleanRelease.release_files = ["nndl/*.py", "utils/*.py", "requirements.txt"]

# nbgrader autograde: the student's own files (and the model their run saved) are graded;
# every other file of source/hw5 (nndl/layers.py, utils/*.py, ...) is copied over the
# submission, so editing them gains nothing.
c.Autograde.exclude_overwriting = {ASSIGNMENT: [*STUDENT_FILES, MODEL_FILE]}
# Stock autograde preprocessors, plus GradeCellStderrToStdout right after Execute: a
# warning printed on stderr must not turn a passing test cell into 0 points.
c.Autograde.autograde_preprocessors = [
    Execute, GradeCellStderrToStdout, IgnorePattern, ClearMetadataPreprocessor,
    LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
]
# Seconds per cell without a reference time; a test cell gets 20 times its reference time
# plus 5 s, and a submission 180 s for all its notebooks (FaultTolerantExecute, below).
c.Execute.timeout = 60

# nbgrader generate_feedback: the feedback shows the outcome and message of every test,
# but neither the code of the hidden tests nor traceback lines quoting it.
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]

# --- Safe, fault-tolerant autograding (grading/sandbox/; docs/sandbox.md) -------------------
# Each submitted notebook runs in a bubblewrap sandbox: no network, only the student's own
# autograded folder writable, the gradebook, source/ and other students' folders invisible,
# limits on memory, CPU time and processes (grading/sandbox/policy.py; override any of them
# here, e.g. memory_limit=2 * 1024**3). A cell that kills or hangs the kernel scores 0 and
# says why, and grading goes on in a fresh kernel; deleted test cells are restored. Without
# a working sandbox, autograde refuses to run unless NNDL_ALLOW_UNSANDBOXED=1.
# The grader decides every test cell outside the kernel and scores the trained model on the
# held-out images of $NNDL_DATA, which only it reads (grading/sandbox/judge.py and
# score_model.py): autograde refuses to start without them. The kernel gets no data folder.
# Keep this call last: it swaps Execute in the autograde_preprocessors set above.
configure_sandbox(c, guarded_modules=["utils.checks"], judge_checks=True)
