"""The grader's side of the test cells (grading/sandbox/judge.py), the trusted model scorer
(grading/sandbox/score_model.py) and the delegation rule of the kernel's guard
(grading/sandbox/guard.py), each on its own, without nbgrader. The whole pipeline, with
the attacks these pieces stop: tests/test_sandbox_adversarial.py."""
import importlib.util
import io
import threading

import nbformat
import numpy as np
import pytest
from nbformat import NotebookNode

import utils.checks as checks
from grading.authoring import course
from grading.sandbox import judge, score_model
from grading.sandbox.guard import (INTEGRITY_MARKER, UNDER_TEST, DelegationGuard,
                                   ProvidedLayerRefused)


def source_cells(name):
    return nbformat.read(course.SOURCE_DIR / f"{name}.ipynb", as_version=4).cells


def test_no_reference_reaches_the_kernel():
    for name in course.NOTEBOOKS:
        for cell in source_cells(name):
            if not judge.is_test_cell(cell):
                continue
            sent = judge.kernel_source(cell.source, judge.grade_id(cell))
            compile(sent, judge.grade_id(cell), "exec")
            assert "def reference_" not in sent and "np.einsum" not in sent
            if judge.grade_id(cell) in judge.SCORED_CELLS:
                assert judge.HIDDEN_BEGIN not in sent and "score(" not in sent
            elif "reference_" in cell.source:
                assert "sealed_reference(" in sent and sent.startswith(
                    f"{UNDER_TEST}\nfrom utils.checks import record_checks\nrecord_checks(True)\n")


def kernel_records(monkeypatch, notebook, cell_id):
    """Run the set-up cell and test cell ``cell_id`` as the kernel would (the instructor's
    solution), return the cell with its records as outputs."""
    monkeypatch.chdir(course.REPO_ROOT)
    published = []
    monkeypatch.setattr(checks, "_publish", published.append)
    cells = source_cells(notebook)
    namespace = {"__name__": "__main__"}
    setup = next(c for c in cells if judge.is_locked_code(c) and not judge.is_test_cell(c))
    exec("\n".join(line for line in setup.source.split("\n") if not line.startswith("%")), namespace)
    test = next(c for c in cells if judge.grade_id(c) == cell_id)
    try:
        exec(judge.kernel_source(test.source, cell_id), namespace)
    finally:
        checks.record_checks(False)
    test.outputs = [NotebookNode(output_type="display_data", metadata={},
                                 data={checks.RECORD_MIME: record}) for record in published]
    return test, judge.expected_checks(cells)[cell_id]


def test_the_grader_decides_from_the_kernels_records(monkeypatch):
    cell, expected = kernel_records(monkeypatch, "ConvolutionalNetworks", "test_conv_forward_stride")
    assert len(expected) == 3 and all(r["kind"] == "close" for r in expected)
    good = [dict(output.data[checks.RECORD_MIME]) for output in cell.outputs]
    assert judge.judge_cell(cell, expected) == (None, None)
    assert cell.outputs == []   # the records are taken out of the feedback

    wrong = [dict(r) for r in good]
    wrong[2]["got"] = checks.encode_array(checks.decode_array(wrong[2]["got"]) + 1e-3)
    cell.outputs = [NotebookNode(output_type="display_data", metadata={},
                                 data={checks.RECORD_MIME: r}) for r in wrong]
    failure, problem = judge.judge_cell(cell, expected)
    assert problem is None and failure.startswith("[hidden: x (1, 2, 10, 7)") and "out is wrong" in failure

    for forged, says in [(good[:2], "only 2 of the 3 checks"), (good + good[:1], "forged"),
                         ([good[1], good[0], good[2]], "did not run as written")]:
        cell.outputs = [NotebookNode(output_type="display_data", metadata={},
                                     data={checks.RECORD_MIME: r}) for r in forged]
        failure, problem = judge.judge_cell(cell, expected)
        assert failure is None and says in problem


def test_results_that_run_code_when_converted_are_refused():
    class Lazy:
        def __array__(self, dtype=None, copy=None):
            raise AssertionError("the recorder must not run this")
    objects = np.empty(1, dtype=object)
    objects[0] = Lazy()
    for value in (Lazy(), np.arange(3).view(np.matrix), objects):
        record = checks._record("close", {"case": "c", "name": "out", "got": value})
        assert "refused" in record
    record = checks._record("close", {"case": "c", "name": "out", "got": [1.0, np.float32(2)]})
    assert checks.decode_array(record["got"]).tolist() == [1.0, 2.0]
    sealed = checks.sealed_reference("reference_gradients", "params")({"W1": 0, "b1": 0})
    assert sorted(sealed) == ["W1", "b1"] and isinstance(sealed["W1"], checks.Sealed)


def test_the_scorer_needs_configured_heldout_data_outside_the_submissions(tmp_path):
    with pytest.raises(score_model.HeldOutDataMissing, match="NNDL_DATA is not set"):
        score_model.heldout_data_dir(environ={})
    with pytest.raises(score_model.HeldOutDataMissing, match="holds no cifar-10-batches-py"):
        score_model.heldout_data_dir(environ={"NNDL_DATA": str(tmp_path)})
    submission = tmp_path / "autograded" / "alice" / "hw5"
    (submission / "cifar-10-batches-py").mkdir(parents=True)
    (submission / "cifar-10-batches-py" / "test_batch").write_bytes(b"")
    with pytest.raises(score_model.HeldOutDataMissing, match="inside the submissions"):
        score_model.heldout_data_dir(submission, environ={"NNDL_DATA": str(submission)})
    sample = course.REPO_ROOT / "data_sample"
    assert score_model.heldout_data_dir(submission, environ={"NNDL_DATA": str(sample)}) == sample


@pytest.mark.slow
def test_autograde_refuses_to_start_without_heldout_data(tmp_path):
    import os
    from grading.classroom import demo
    from grading.classroom.samples import make_sample
    course_dir = demo.prepare_course(tmp_path / "course")
    env = {k: v for k, v in os.environ.items() if k != "NNDL_DATA"}
    demo.nbgrader(course_dir, "generate_assignment", "hw5", "--force", env=env)
    make_sample("complete", course_dir / "release" / "hw5", course_dir / "submitted" / "alice" / "hw5")
    run = demo.subprocess.run([demo.sys.executable, "-m", "nbgrader", "autograde", "hw5"],
                              cwd=course_dir, env=env, capture_output=True, text=True)
    assert run.returncode != 0
    assert "Refusing to autograde" in run.stdout + run.stderr and "NNDL_DATA is not set" in run.stderr
    assert not (course_dir / "autograded" / "alice").exists()


def test_the_scorer_gives_no_points_without_the_full_heldout_set():
    result = score_model.score(course.REPO_ROOT / "grading" / "sample_model" / course.MODEL_FILE,
                               course.REPO_ROOT / "data_sample")
    assert result["points"] == 0 and "not the 1,000 held-out ones" in result["message"]


def test_the_reference_forward_pass_agrees_with_the_courses_model():
    from nndl.cnn import ThreeLayerConvNet
    model = ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=4, filter_size=3, hidden_dim=6,
                              use_batchnorm=True, dtype=np.float64, seed=1)
    rng = np.random.default_rng(2)
    model.bn_params[0].update(running_mean=rng.standard_normal(4), running_var=1 + rng.random(4))
    X = rng.standard_normal((5, 3, 8, 8))
    bn = (model.bn_params[0]["running_mean"], model.bn_params[0]["running_var"])
    np.testing.assert_allclose(score_model.reference_forward()(model.params, X, bn), model.loss(X),
                               rtol=1e-6, atol=1e-9)


FAST = "def conv_forward_fast(x):\n    return x * 2\n"
SANDWICH = "from fast_mod import conv_forward_fast\n\ndef conv_relu(x):\n    return conv_forward_fast(x)\n"
STUDENT = '''
import importlib
import sys
import fast_mod
import sandwich_mod

captured = fast_mod.conv_forward_fast


def conv_forward_naive(x):
    return captured(x)


def by_importlib(x):
    return importlib.import_module("fast_mod").conv_forward_fast(x)


def by_sys_modules(x):
    return sys.modules["fast_mod"].conv_forward_fast(x)


def in_a_thread(x):
    result = []
    worker = __import__("threading").Thread(target=lambda: result.append(captured(x)))
    worker.start()
    worker.join()
    return result


def honest(x):
    return x * 2
'''


@pytest.fixture
def layers(tmp_path, monkeypatch):
    """A folder laid out like a submission, its modules loaded from there."""
    for relative, text in {"utils/fast_layers.py": FAST, "utils/conv_layer_utils.py": SANDWICH,
                           "nndl/conv_layers.py": STUDENT}.items():
        (tmp_path / relative).parent.mkdir(exist_ok=True)
        (tmp_path / relative).write_text(text)
    modules = {}
    for name, relative in [("fast_mod", "utils/fast_layers.py"),
                           ("sandwich_mod", "utils/conv_layer_utils.py"),
                           ("student_mod", "nndl/conv_layers.py")]:
        spec = importlib.util.spec_from_file_location(name, tmp_path / relative)
        modules[name] = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(__import__("sys").modules, name, modules[name])
        spec.loader.exec_module(modules[name])
    return tmp_path, modules


def test_a_naive_layer_cannot_call_the_provided_layers(layers):
    folder, modules = layers
    student, sandwich = modules["student_mod"], modules["sandwich_mod"]
    stream = io.StringIO()
    guard = DelegationGuard(folder, stream)
    for function in (student.conv_forward_naive, student.by_importlib, student.by_sys_modules):
        guard.start_cell()
        with pytest.raises(ProvidedLayerRefused, match=f"{function.__name__} called "
                           "utils.fast_layers.conv_forward_fast: the naive layers compute"):
            function(np.ones(2))
        assert guard.end_cell() == ""
    guard.start_cell()
    try:
        assert student.in_a_thread(np.ones(2)) == []   # the thread's call was refused
        assert student.honest(np.ones(2)).tolist() == [2, 2]
        assert sandwich.conv_relu(np.ones(2)).tolist() == [2, 2]      # legitimate use
    finally:
        assert guard.end_cell() == ""
    lines = [line for line in stream.getvalue().splitlines() if line.startswith(INTEGRITY_MARKER)]
    assert len(lines) == 4 and '"called": "utils.fast_layers.conv_forward_fast"' in lines[0]
    assert threading.current_thread() is threading.main_thread()


def test_removing_the_hook_is_reported_unless_the_cell_failed(layers):
    folder, _ = layers
    guard = DelegationGuard(folder, io.StringIO())
    guard.start_cell()
    __import__("sys").setprofile(None)
    assert "profile hook" in guard.end_cell()
    guard.start_cell()
    __import__("sys").setprofile(None)   # as an interrupt inside the hook does
    assert guard.end_cell(failed=True) == ""


def test_a_helper_in_the_references_block_is_refused_when_the_notebook_is_built():
    """Every function of the references block is sealed in the student's kernel, so a helper
    that the checks need there (a pair parser, say) must not go in it."""
    from grading.authoring.notebooks import graded
    helper = "def hw(value):\n    return (value, value)\n"
    with pytest.raises(ValueError, match=r"\['hw'\].*sealed"):
        graded('test_x', 1, 'print(1)', 'print(2)', references=[helper])
    assert "def hw" in graded('test_x', 1, 'print(1)', helper + 'print(hw(2))').source
