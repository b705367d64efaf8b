"""Score a submitted CIFAR-10 model with trusted code on held-out images.

    python -I -m grading.sandbox.score_model MODEL_FILE DATA_DIR      # prints one JSON line

The grader (``grading.sandbox.judge.NotebookJudge``) runs this as a process of its own, outside
the sandbox, for the trained-model cell of CNN.ipynb. It imports no student module: the
model file (plain arrays and JSON, read without pickle by ``nndl.model_io`` of the
course) is loaded into the course's reference forward pass
(``grading.authoring.notebooks.references.THREE_LAYER_NET``, the one the hidden tests use), and
the held-out images and labels are read only here, from ``DATA_DIR`` (the instructor's
``NNDL_DATA``), never mounted into the student's kernel.

The held-out images and the thresholds are the course's (``grading.authoring.course``:
HELDOUT_FIRST, HELDOUT_COUNT, THRESHOLDS, TARGET); the images are preprocessed as in
training: the mean of the first 49,000 training images subtracted.
"""
import json
import os
import sys
from pathlib import Path

import numpy as np

from grading.authoring.course import HELDOUT_COUNT, HELDOUT_FIRST, TARGET, THRESHOLDS

POINTS = len(THRESHOLDS) + 1
DATA_ENV_VAR = "NNDL_DATA"
CIFAR10_DIRNAME = "cifar-10-batches-py"
BATCH = 200


class HeldOutDataMissing(RuntimeError):
    """Autograde refused: the held-out images are not configured."""


def heldout_data_dir(submission_dir=None, environ=os.environ):
    """The configured data folder (``$NNDL_DATA``) holding the CIFAR-10 test batch.

    Raises HeldOutDataMissing, saying what to do, if the variable is unset, the folder has
    no ``cifar-10-batches-py/test_batch``, or it lies inside ``submission_dir``'s parent
    folders of submissions (data a student handed in).
    """
    value = environ.get(DATA_ENV_VAR, "")
    hint = (f"Set {DATA_ENV_VAR} to the folder holding {CIFAR10_DIRNAME}/ (python -m "
            f"utils.download cifar10 --data-dir DIR), outside the course's submissions.")
    if not value:
        raise HeldOutDataMissing(f"Refusing to autograde: the trained model is scored on "
                                 f"held-out CIFAR-10 images and {DATA_ENV_VAR} is not set. {hint}")
    folder = Path(value).expanduser().resolve()
    if not (folder / CIFAR10_DIRNAME / "test_batch").is_file():
        raise HeldOutDataMissing(f"Refusing to autograde: {DATA_ENV_VAR}={value} holds no "
                                 f"{CIFAR10_DIRNAME}/test_batch. {hint}")
    if submission_dir is not None:
        submissions = Path(submission_dir).resolve().parent.parent   # autograded/<student>/<hw>
        if folder == submissions or submissions in folder.parents:
            raise HeldOutDataMissing(f"Refusing to autograde: {DATA_ENV_VAR}={value} is "
                                     f"inside the submissions ({submissions}). {hint}")
    return folder


def reference_forward():
    """reference_scores of grading.authoring.notebooks.references, defined here with numpy."""
    from grading.authoring.notebooks.references import THREE_LAYER_NET
    namespace = {"np": np}
    exec(THREE_LAYER_NET, namespace)
    return namespace["reference_scores"]


def heldout_set(data_dir):
    """(X float32 minus the mean training image, y) of the held-out images; X may be short."""
    from utils.data_utils import load_CIFAR10
    X_train, _, X_test, y_test = load_CIFAR10(Path(data_dir) / CIFAR10_DIRNAME, dtype=np.uint8)
    mean_image = X_train[:49000].mean(axis=0, dtype=np.float64).astype(np.float32)
    part = slice(HELDOUT_FIRST, HELDOUT_FIRST + HELDOUT_COUNT)
    return X_test[part].astype(np.float32) - mean_image, np.asarray(y_test[part])


def load_parameters(model_path):
    """(params, bn) of a model file: bn is (running_mean, running_var) or None."""
    from nndl.model_io import read_model_file
    model = read_model_file(model_path)
    params = {name: np.asarray(value, dtype=np.float64) for name, value in model["params"].items()}
    needed = {"W1", "b1", "W2", "b2", "W3", "b3"}
    if not needed <= set(params):
        raise ValueError(f"the model has parameters {sorted(params)}; a ThreeLayerConvNet "
                         f"has {sorted(needed)} (and gamma1, beta1 with batchnorm)")
    bn = None
    if "gamma1" in params:
        state = model["bn_state"][0] if model["bn_state"] else {}
        if "running_mean" not in state or "running_var" not in state:
            raise ValueError("the model uses batchnorm but holds no running averages")
        bn = (np.asarray(state["running_mean"], np.float64), np.asarray(state["running_var"], np.float64))
    return params, bn


def score(model_path, data_dir):
    """{'accuracy', 'images', 'points', 'message'} of the model file on the held-out images."""
    X, y = heldout_set(data_dir)
    if len(y) < HELDOUT_COUNT:
        return {"accuracy": None, "images": int(len(y)), "points": 0,
                "message": f"the data in {data_dir} holds only {HELDOUT_FIRST + len(y)} test "
                           f"images, not the {HELDOUT_COUNT:,} held-out ones "
                           f"({HELDOUT_FIRST}..{HELDOUT_FIRST + HELDOUT_COUNT - 1}): "
                           f"the model cannot be graded (0 points)"}
    try:
        params, bn = load_parameters(model_path)
        forward = reference_forward()
        predictions = np.concatenate([np.argmax(forward(params, X[i:i + BATCH], bn), axis=1)
                                      for i in range(0, len(X), BATCH)])
    except (ValueError, KeyError, IndexError) as err:
        return {"accuracy": None, "images": int(len(y)), "points": 0,
                "message": f"the saved model could not be evaluated: {err} (0 points)"}
    accuracy = float(np.mean(predictions == y))
    points = sum(accuracy >= t for t in THRESHOLDS) + int(accuracy > TARGET)
    return {"accuracy": accuracy, "images": int(len(y)), "points": int(points),
            "message": f"accuracy on {len(y):,} held-out images: {accuracy:.3f}, "
                       f"{points} of {POINTS} points"}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(score(argv[0], argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
