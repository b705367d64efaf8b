"""The grader decides: test cells checked outside the student's kernel, and its report.

During ``nbgrader autograde`` a test cell runs in the student's (sandboxed) kernel, where
the student's code can read anything in memory and replace any function. So the kernel
only *reports*; the grader decides (``grading.sandbox.faults.FaultTolerantExecute`` calls this
module around every cell):

1. ``kernel_source``: the cell is sent to the kernel with its hidden references replaced
   by stand-ins (``utils.checks.sealed_reference``) and with ``record_checks`` on: every
   check (``check_close``, ``check_shape``, ``check_equal``, ``check_true``) publishes
   what the student's code produced as a ``RECORD_MIME`` output, as plain arrays.
2. ``expected_checks``: in a process of its own, started in the course repository (the
   instructor's nndl, never a submission's), the grader runs the same read-only cells
   (set-up and tests) with the instructor's solution and ``collect_checks``: that gives,
   check by check, the expected values, references included. No student module is ever
   imported there; numpy is the real one.
3. ``judge_cell``: the kernel's records are paired with the expected ones in order and
   compared by the grader's own copy of utils.checks. A failure becomes an error output
   of the cell (it scores 0, the feedback shows the message); a cell whose checks did not
   all report, or reported something else than the test asked, fails as an integrity
   problem.

The trained-model cell (``SCORED_CELLS``) is scored by ``grading.sandbox.score_model`` instead.
Integrity problems (a rule of ``grading.sandbox.guard`` broken, tampering, forged or missing
records) are collected by ``IntegrityReport`` for the instructor: which notebook, which
cell, which function, which rule.
"""
import ast
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from nbformat import NotebookNode

import utils.checks as checks
from grading.authoring.course import REPO_ROOT
from grading.authoring.notebooks.references import REFERENCES_BEGIN, REFERENCES_END, STRUCTURE
from grading.sandbox.guard import UNDER_TEST

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
# Test cells scored by trusted code of the grader instead of by checks (grading.sandbox.score_model).
SCORED_CELLS = {"test_cifar10_model"}
MAX_MODEL_BYTES = 256 * 1024**2

if Path(checks.__file__).resolve().parent.parent != REPO_ROOT:  # never a submission's copy
    raise ImportError(f"grading.sandbox.judge must use the course's utils.checks, not {checks.__file__}")


class JudgeError(RuntimeError):
    """The grader could not compute the expected values (a problem of the course, not the student)."""


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def is_test_cell(cell):
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def is_locked_code(cell):
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and (meta.get("locked") or is_test_cell(cell)) \
        and not meta.get("solution")


def _between(source, begin, end):
    """(before, inside, after) of the first ``begin`` ... ``end`` lines, or None."""
    lines = source.split("\n")
    try:
        first = next(i for i, line in enumerate(lines) if line.strip() == begin)
        last = next(i for i in range(first + 1, len(lines)) if lines[i].strip() == end)
    except StopIteration:
        return None
    return "\n".join(lines[:first]), "\n".join(lines[first + 1:last]), "\n".join(lines[last + 1:])


def kernel_source(source, cell_id):
    """The source of test cell ``cell_id`` as the student's kernel runs it during autograde."""
    if cell_id in SCORED_CELLS:   # the kernel only loads the model; the grader scores it
        parts = _between(source, HIDDEN_BEGIN, HIDDEN_END)
        return UNDER_TEST + "\n" + (source if parts is None else parts[0] + "\n" + parts[2])
    parts = _between(source, REFERENCES_BEGIN, REFERENCES_END)
    if parts is not None:
        names = [node.name for node in ast.parse(parts[1]).body if isinstance(node, ast.FunctionDef)]
        stand_ins = ["from utils.checks import sealed_reference"] + [
            f"{name} = sealed_reference({name!r}, {STRUCTURE.get(name)!r})" for name in names]
        source = "\n".join([parts[0], *stand_ins, parts[2]])
    return f"{UNDER_TEST}\nfrom utils.checks import record_checks\nrecord_checks(True)\n" + source


# --- The expected values: the grader's own run of the read-only cells -----------------------

def _encode(records):
    for record in records:
        if "expected" in record and hasattr(record["expected"], "dtype"):
            record["expected"] = checks.encode_array(record["expected"])
    return records


def _decode(records):
    for record in records:
        if record["kind"] == "close":
            record["expected"] = checks.decode_array(record["expected"])
    return records


_EXPECTED = {}
# What the expected values depend on besides the cells: the instructor's code.
COURSE_CODE = ("nndl/*.py", "utils/*.py", "grading/authoring/notebooks/*.py")


def _job_key(job):
    digest = hashlib.sha256(json.dumps(job, sort_keys=True).encode())
    for pattern in COURSE_CODE:
        for path in sorted(REPO_ROOT.glob(pattern)):
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def expected_checks(cells, cache_dir=None):
    """{grade_id: [expected record, ...]} of the test cells among ``cells`` (locked code cells).

    Computed in a separate Python process started in the course repository, so that only
    the instructor's code takes part; kept in memory and, if given, in ``cache_dir`` (a
    folder of the instructor's, e.g. the course root's .nndl-expected), keyed by the
    cells and the course code, for the next nbgrader process.
    """
    job = [{"id": grade_id(cell), "source": cell.source, "test": bool(is_test_cell(cell))}
           for cell in cells if is_locked_code(cell) and grade_id(cell) not in SCORED_CELLS]
    key = _job_key(job)
    input_text = json.dumps(job)
    cached = Path(cache_dir) / f"{key}.json" if cache_dir else None
    if key not in _EXPECTED and cached is not None and cached.is_file():
        _EXPECTED[key] = json.loads(cached.read_text())
    if key not in _EXPECTED:
        env = {k: v for k, v in os.environ.items()
               if k not in ("NBGRADER_EXECUTION", "PYTHONPATH", "NNDL_DATA")}
        env["MPLBACKEND"] = "Agg"
        run = subprocess.run([sys.executable, "-m", "grading.sandbox.judge"], input=input_text, text=True,
                             capture_output=True, cwd=REPO_ROOT, env=env, timeout=900)
        if run.returncode != 0:
            raise JudgeError("computing the expected values of the test cells failed:\n"
                             + run.stderr[-4000:])
        _EXPECTED[key] = json.loads(run.stdout)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(run.stdout)
            partial.replace(cached)
    return {cell_id: _decode([dict(r) for r in records])
            for cell_id, records in _EXPECTED[key].items()}


def _run_expected(job):
    """Run the cells of ``job`` here; return {grade_id: expected records} (see main)."""
    import contextlib
    import io
    namespace = {"__name__": "__main__"}
    results = {}
    for cell in job:
        source = "\n".join(line for line in cell["source"].split("\n")
                           if not line.lstrip().startswith("%"))
        records = []
        with contextlib.redirect_stdout(io.StringIO()), checks.collect_checks(records):
            try:
                exec(compile(source, f"<cell {cell['id']}>", "exec"), namespace)
            except Exception as err:
                raise JudgeError(f"cell {cell['id']} fails with the instructor's solution: "
                                 f"{type(err).__name__}: {err}") from err
        if cell["test"]:
            results[cell["id"]] = _encode(records)
    return results


# --- Judging one executed cell --------------------------------------------------------------

def take_records(cell):
    """Remove the check records from the outputs of ``cell`` and return them."""
    records, kept = [], []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "display_data" and checks.RECORD_MIME in output.get("data", {}):
            records.append(output["data"][checks.RECORD_MIME])
        else:
            kept.append(output)
    cell.outputs = kept
    return records


def error_output(ename, evalue):
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


def _compare(expected, got):
    """None if the record ``got`` passes the check ``expected``, else the failure message."""
    kind, case = expected["kind"], expected["case"]
    if "refused" in got:
        return f"[{case}] {got['refused']}: the tests take plain numpy arrays and numbers"
    try:
        with checks.judging():
            if kind == "true":
                checks.check_true(case, got.get("got") is True, "a required property does "
                                  "not hold (see the visible test's message)")
            elif kind == "close":
                checks.check_close(case, expected["name"], checks.decode_array(got["got"]),
                                   expected["expected"], rtol=expected["rtol"], atol=expected["atol"])
            elif kind == "shape":
                checks.check_shape(case, expected["name"], checks.decode_array(got["got"]),
                                   expected["expected"])
            elif kind == "equal":
                value = got["got"]
                value = tuple(value) if expected["tuple"] and isinstance(value, list) else value
                want = tuple(expected["expected"]) if expected["tuple"] else expected["expected"]
                checks.check_equal(case, expected["name"], value, want)
    except AssertionError as err:
        return str(err)
    return None


def judge_cell(cell, expected):
    """Decide test cell ``cell`` from its kernel records and the ``expected`` records.

    Returns (failure message or None, integrity problem or None). The records are removed
    from the cell's outputs either way.
    """
    records = take_records(cell)
    if any(output.get("output_type") == "error" for output in cell.outputs):
        return None, None   # it failed in the kernel already: 0 points, the error says why
    for index, want in enumerate(expected):
        if index >= len(records):
            return None, (f"only {len(records)} of the {len(expected)} checks of this cell "
                          f"reported a result: the test did not run as written")
        got = records[index]
        if (got.get("kind"), got.get("case"), got.get("name")) != (
                want["kind"], want["case"], want.get("name")):
            return None, (f"check {index + 1} of this cell reported "
                          f"[{got.get('case')}] {got.get('name') or got.get('kind')}, but the "
                          f"test's check {index + 1} is [{want['case']}] "
                          f"{want.get('name') or want['kind']}: the test did not run as written")
        if "refused" in got:
            return _compare(want, got), f"[{want['case']}] {got['refused']}"
        message = _compare(want, got)
        if message:
            return message, None
    if len(records) > len(expected):
        return None, (f"this cell reported {len(records)} checks, but the test has "
                      f"{len(expected)}: results were forged")
    return None, None


class IntegrityReport:
    """Integrity problems of one student, written next to the grades for the instructor.

    ``<course>/integrity/<assignment>/<student>.json``: a list of {notebook, cell, kind,
    function, rule, detail}; the file is removed when a regrade finds nothing.
    """

    def __init__(self, root, assignment, student):
        self.path = Path(root) / "integrity" / assignment / f"{student}.json"
        self.notebook = None
        self.entries = []
        if self.path.is_file():   # other notebooks of this submission, earlier in this run
            self.entries = json.loads(self.path.read_text())

    def start_notebook(self, notebook):
        self.notebook = notebook
        self.entries = [e for e in self.entries if e["notebook"] != notebook]

    def add(self, cell, kind, detail, function=None, rule=None):
        self.entries.append({"notebook": self.notebook, "cell": cell, "kind": kind,
                             "function": function, "rule": rule, "detail": detail})

    def write(self):
        if self.entries:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.entries, indent=1))
        elif self.path.exists():
            self.path.unlink()
        return self.path


def read_reports(root, assignment):
    """{student: [entry, ...]} of every integrity report of ``assignment``."""
    folder = Path(root) / "integrity" / assignment
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


class NotebookJudge:
    """Everything the grader does around the cells of one submitted notebook.

    ``resources`` are nbgrader's (``resources['nbgrader']``: assignment, notebook,
    student; ``resources['metadata']['path']``: the autograded folder), ``config`` the
    nbgrader configuration (for the course directory and its source notebooks).
    Raises ``grading.sandbox.score_model.HeldOutDataMissing`` when the notebook has a scored cell
    and the held-out data are not configured.
    """

    def __init__(self, config, resources, log):
        from nbgrader.coursedir import CourseDirectory
        import nbformat
        from grading.sandbox.score_model import heldout_data_dir
        info = resources["nbgrader"]
        coursedir = CourseDirectory(config=config)
        self.root = Path(coursedir.root)
        self.log = log
        self.folder = Path(resources["metadata"]["path"])
        source = Path(coursedir.format_path(coursedir.source_directory, ".", info["assignment"]))
        source_nb = nbformat.read(source / f"{info['notebook']}.ipynb", as_version=4)
        # the trusted text of every test cell, from the instructor's source notebook
        self.sources = {grade_id(c): c.source for c in source_nb.cells if is_test_cell(c)}
        judged = [c for c in source_nb.cells if is_locked_code(c)
                  and (not is_test_cell(c) or "utils.checks" in c.source)]
        self.data_dir = (heldout_data_dir(self.folder) if SCORED_CELLS & set(self.sources)
                         else None)
        self.expected = expected_checks(judged, cache_dir=self.root / ".nndl-expected")
        self.report = IntegrityReport(self.root, info["assignment"], info["student"])
        self.report.start_notebook(info["notebook"])

    def kernel_source(self, cell):
        """What the kernel runs for ``cell`` (None: the cell as it is)."""
        cell_id = grade_id(cell)
        if cell_id in SCORED_CELLS or cell_id in self.expected:
            return kernel_source(self.sources[cell_id], cell_id)
        return None

    def after_cell(self, cell):
        """Decide a test cell from its records, or score the model cell; outputs appended."""
        cell_id = grade_id(cell)
        if cell_id not in self.expected:
            take_records(cell)   # records are never a student's output
            if cell_id in SCORED_CELLS:
                self._score_model(cell)
            return cell
        failure, problem = judge_cell(cell, self.expected[cell_id])
        if problem:
            self.integrity(cell, "checks", problem, rule="every check reports the student's "
                           "own result, as plain data, in the test's order")
            cell.outputs.append(error_output("IntegrityError", problem))
        elif failure:
            cell.outputs.append(error_output("AssertionError", failure))
        return cell

    def _score_model(self, cell):
        from grading.authoring.course import MODEL_FILE
        if any(output.get("output_type") == "error" for output in cell.outputs):
            return   # no model file, or it did not load: 0 points, the error says why
        cell.outputs = [o for o in cell.outputs if o.get("output_type") != "execute_result"]
        path = self.folder / MODEL_FILE
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_MODEL_BYTES:
            cell.outputs.append(error_output("ModelNotScored", f"{MODEL_FILE} is not a regular "
                                             f"file of at most {MAX_MODEL_BYTES >> 20} MiB"))
            return
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NBGRADER_EXECUTION")}
        run = subprocess.run([sys.executable, "-I", "-m", "grading.sandbox.score_model", str(path),
                              str(self.data_dir)], capture_output=True, text=True,
                             cwd=REPO_ROOT, env=env, timeout=900)
        try:
            result = json.loads(run.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            self.log.error("Scoring %s failed:\n%s", path, run.stderr[-3000:])
            cell.outputs.append(error_output("ModelNotScored", "the saved model could not be "
                                             "evaluated (see the instructor's log)"))
            return
        cell.outputs.append(NotebookNode(output_type="stream", name="stdout",
                                         text=result["message"] + "\n"))
        cell.outputs.append(NotebookNode(output_type="execute_result", metadata={},
                                         execution_count=cell.get("execution_count"),
                                         data={"text/plain": repr(float(result["points"]))}))

    def integrity(self, cell, kind, detail, function=None, rule=None):
        self.report.add(grade_id(cell) or "(not a test cell)", kind, detail, function, rule)
        self.log.warning("Integrity: %s, cell %s: %s", self.report.notebook, grade_id(cell), detail)

    def finish(self):
        return self.report.write()


def main():
    """Subprocess mode of expected_checks: cells as JSON on stdin, records as JSON on stdout."""
    job = json.loads(sys.stdin.read())
    results = _run_expected(job)
    sys.stdout.write(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
