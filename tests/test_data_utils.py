"""Tests for utils.data_utils: the CIFAR-10 and MNIST loaders, splits and data directory.

Every dataset here is written by the test itself, in the official file formats, into a
temporary folder (plus one test of the committed data_sample/).
"""
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import utils
from utils import data_utils
from utils.data_utils import (DEFAULT_DATA_DIR, SAMPLE_DATA_DIR, DatasetError, get_CIFAR10_data,
                              get_MNIST_data, load_CIFAR10, load_CIFAR_batch, load_MNIST,
                              resolve_data_dir)

from dataset_files import (MNIST_NAMES, idx_bytes, make_cifar, make_mnist,
                           write_cifar_batch, write_gz)


# ----------------------------------------------------------------------------------
# CIFAR-10
# ----------------------------------------------------------------------------------

@pytest.mark.parametrize("style", ["python2", "bytes", "str"])
def test_load_CIFAR10_round_trip(tmp_path, style):
    train_rows, train_labels, test_rows, test_labels = make_cifar(tmp_path, style=style)
    X_train, y_train, X_test, y_test = load_CIFAR10(tmp_path)
    assert X_train.shape == (20, 3, 32, 32) and X_test.shape == (3, 3, 32, 32)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    np.testing.assert_array_equal(X_train.reshape(20, -1), train_rows)
    np.testing.assert_array_equal(X_test.reshape(3, -1), test_rows)
    np.testing.assert_array_equal(y_train, train_labels)
    np.testing.assert_array_equal(y_test, test_labels)


def test_cifar_rows_are_read_in_channel_row_column_order(tmp_path):
    rows = np.zeros((3, 3072), dtype=np.uint8)
    pixels = [(0, 0, 5, 7), (1, 1, 31, 0), (2, 2, 0, 31), (2, 0, 12, 3)]  # (n, c, i, j)
    for value, (n, c, i, j) in enumerate(pixels, start=10):
        rows[n, c * 1024 + i * 32 + j] = value
    write_cifar_batch(tmp_path / "batch", rows, [0, 1, 2])
    X, y = load_CIFAR_batch(tmp_path / "batch")
    assert X.shape == (3, 3, 32, 32) and X.dtype == np.uint8
    for value, (n, c, i, j) in enumerate(pixels, start=10):
        assert X[n, c, i, j] == value
    assert np.count_nonzero(X) == len(pixels)
    np.testing.assert_array_equal(y, [0, 1, 2])


def test_get_CIFAR10_data_splits_and_subtracts_training_mean(tmp_path):
    train_rows, train_labels, test_rows, test_labels = make_cifar(tmp_path / "cifar-10-batches-py")
    data = get_CIFAR10_data(num_training=12, num_validation=4, num_test=2, data_dir=tmp_path)
    assert set(data) == {"X_train", "y_train", "X_val", "y_val", "X_test", "y_test"}
    images = train_rows.reshape(-1, 3, 32, 32).astype(np.float64)
    mean = images[:12].mean(axis=0)
    np.testing.assert_allclose(data["X_train"], images[:12] - mean, atol=1e-4)
    np.testing.assert_allclose(data["X_val"], images[12:16] - mean, atol=1e-4)
    np.testing.assert_allclose(data["X_test"],
                               test_rows[:2].reshape(-1, 3, 32, 32) - mean, atol=1e-4)
    np.testing.assert_array_equal(data["y_train"], train_labels[:12])
    np.testing.assert_array_equal(data["y_val"], train_labels[12:16])
    np.testing.assert_array_equal(data["y_test"], test_labels[:2])
    assert data["X_train"].dtype == np.float32


def test_get_CIFAR10_data_without_mean_keeps_pixels(tmp_path):
    train_rows, _, _, _ = make_cifar(tmp_path / "cifar-10-batches-py")
    data = get_CIFAR10_data(num_training=5, num_validation=2, num_test=1,
                            subtract_mean=False, data_dir=tmp_path, dtype=np.float64)
    assert data["X_train"].dtype == np.float64
    np.testing.assert_array_equal(data["X_val"].reshape(2, -1), train_rows[5:7])


def test_get_CIFAR10_data_rejects_split_larger_than_data(tmp_path):
    make_cifar(tmp_path / "cifar-10-batches-py")
    with pytest.raises(ValueError, match="exceeds the 20 training images"):
        get_CIFAR10_data(num_training=17, num_validation=4, num_test=1, data_dir=tmp_path)
    with pytest.raises(ValueError, match="num_test"):
        get_CIFAR10_data(num_training=5, num_validation=1, num_test=4, data_dir=tmp_path)


# ----------------------------------------------------------------------------------
# MNIST
# ----------------------------------------------------------------------------------

def test_load_MNIST_round_trip(tmp_path):
    data = make_mnist(tmp_path)
    X_train, y_train, X_test, y_test = load_MNIST(tmp_path)
    assert X_train.shape == (7, 1, 28, 28) and X_test.shape == (3, 1, 28, 28)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    np.testing.assert_array_equal(X_train[:, 0], data["train"][0])
    np.testing.assert_array_equal(X_test[:, 0], data["test"][0])
    np.testing.assert_array_equal(y_train, data["train"][1])
    np.testing.assert_array_equal(y_test, data["test"][1])


def test_mnist_pixels_are_read_row_by_row(tmp_path):
    make_mnist(tmp_path)
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    flat = images.reshape(2, -1)
    flat[1, 3 * 28 + 20] = 200  # image 1, row 3, column 20
    write_gz(tmp_path / MNIST_NAMES["test_images"], idx_bytes(2051, (2, 28, 28), flat.tobytes()))
    write_gz(tmp_path / MNIST_NAMES["test_labels"], idx_bytes(2049, (2,), [4, 9]))
    _, _, X_test, y_test = load_MNIST(tmp_path, dtype=np.uint8)
    assert X_test[1, 0, 3, 20] == 200 and np.count_nonzero(X_test) == 1
    np.testing.assert_array_equal(y_test, [4, 9])


def test_get_MNIST_data_takes_validation_from_end_of_training_set(tmp_path):
    data = make_mnist(tmp_path / "mnist", n_train=9, n_test=4)
    split = get_MNIST_data(num_training=5, num_validation=3, num_test=2, data_dir=tmp_path)
    images = data["train"][0][:, np.newaxis].astype(np.float64)
    mean = images[:5].mean(axis=0)
    np.testing.assert_allclose(split["X_train"], images[:5] - mean, atol=1e-4)
    np.testing.assert_allclose(split["X_val"], images[6:9] - mean, atol=1e-4)
    np.testing.assert_allclose(split["X_test"],
                               data["test"][0][:2, np.newaxis] - mean, atol=1e-4)
    np.testing.assert_array_equal(split["y_val"], data["train"][1][6:9])
    np.testing.assert_array_equal(split["y_test"], data["test"][1][:2])
    assert split["X_val"].shape == (3, 1, 28, 28)


# ----------------------------------------------------------------------------------
# Data directory and missing data
# ----------------------------------------------------------------------------------

def test_data_dir_argument_beats_environment_beats_default(tmp_path, monkeypatch):
    monkeypatch.setenv("NNDL_DATA", str(tmp_path / "from_env"))
    assert resolve_data_dir(tmp_path / "given") == tmp_path / "given"
    assert resolve_data_dir() == tmp_path / "from_env"
    monkeypatch.delenv("NNDL_DATA")
    default = resolve_data_dir()
    assert default == DEFAULT_DATA_DIR
    # The default download folder is a per-user one, outside the assignment folder that
    # students submit.
    repo_root = Path(utils.__file__).resolve().parent.parent
    assert repo_root not in default.parents and default != repo_root


def test_loaders_read_from_NNDL_DATA(tmp_path, monkeypatch):
    make_mnist(tmp_path / "mnist", n_train=6, n_test=2)
    monkeypatch.setenv("NNDL_DATA", str(tmp_path))
    assert get_MNIST_data(num_training=4, num_validation=2, num_test=2)["X_train"].shape[0] == 4


@pytest.mark.parametrize("command, loader", [("cifar10", get_CIFAR10_data),
                                             ("mnist", get_MNIST_data)])
def test_missing_dataset_error_gives_download_command(tmp_path, monkeypatch, command, loader):
    monkeypatch.setenv("NNDL_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError) as error:
        loader()
    assert f"python -m utils.download {command} --data-dir {tmp_path}" in str(error.value)


# ----------------------------------------------------------------------------------
# Corrupt files: a clear DatasetError naming the file
# ----------------------------------------------------------------------------------

def assert_dataset_error(load, root, bad_file, *words):
    """load(root) must raise DatasetError whose message names bad_file and all words."""
    with pytest.raises(DatasetError) as error:
        load(root)
    message = str(error.value)
    assert str(bad_file) in message
    for word in words:
        assert word in message


def test_truncated_gz_is_detected(tmp_path):
    make_mnist(tmp_path)
    path = tmp_path / MNIST_NAMES["train_images"]
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert_dataset_error(load_MNIST, tmp_path, path, "truncated or corrupt")


def test_bad_idx_magic_is_detected(tmp_path):
    make_mnist(tmp_path)
    path = tmp_path / MNIST_NAMES["test_images"]
    write_gz(path, idx_bytes(2049, (3, 28, 28), bytes(3 * 784)))
    assert_dataset_error(load_MNIST, tmp_path, path, "magic", "2051")


def test_idx_with_missing_bytes_is_detected(tmp_path):
    make_mnist(tmp_path)
    path = tmp_path / MNIST_NAMES["train_images"]
    write_gz(path, idx_bytes(2051, (7, 28, 28), bytes(7 * 784 - 100)))
    assert_dataset_error(load_MNIST, tmp_path, path, "wrong length")


def test_mnist_images_of_wrong_size_are_detected(tmp_path):
    make_mnist(tmp_path)
    path = tmp_path / MNIST_NAMES["train_images"]
    write_gz(path, idx_bytes(2051, (7, 32, 32), bytes(7 * 1024)))
    assert_dataset_error(load_MNIST, tmp_path, path, "wrong array size")


def test_mnist_label_count_mismatch_is_detected(tmp_path):
    make_mnist(tmp_path)
    path = tmp_path / MNIST_NAMES["train_labels"]
    write_gz(path, idx_bytes(2049, (6,), [1] * 6))
    assert_dataset_error(load_MNIST, tmp_path, path, "6 labels", "7 images")


def test_mnist_labels_out_of_range_are_detected(tmp_path):
    make_mnist(tmp_path)
    path = tmp_path / MNIST_NAMES["test_labels"]
    write_gz(path, idx_bytes(2049, (3,), [1, 10, 2]))
    assert_dataset_error(load_MNIST, tmp_path, path, "out of range")


def test_corrupt_pickle_is_detected(tmp_path):
    make_cifar(tmp_path)
    path = tmp_path / "data_batch_2"
    path.write_bytes(path.read_bytes()[:500])
    assert_dataset_error(load_CIFAR10, tmp_path, path, "cannot unpickle")


def test_pickle_calling_other_code_is_refused(tmp_path):
    make_cifar(tmp_path)
    path = tmp_path / "test_batch"
    path.write_bytes(pickle.dumps({"data": os.getcwd, "labels": []}, protocol=2))
    assert_dataset_error(load_CIFAR10, tmp_path, path, "refusing")


def test_cifar_rows_of_wrong_length_are_detected(tmp_path):
    make_cifar(tmp_path)
    path = tmp_path / "data_batch_4"
    write_cifar_batch(path, np.zeros((2, 3000), dtype=np.uint8), [0, 1])
    assert_dataset_error(load_CIFAR10, tmp_path, path, "(N, 3072)", "(2, 3000)")


def test_cifar_label_count_mismatch_is_detected(tmp_path):
    make_cifar(tmp_path)
    path = tmp_path / "data_batch_1"
    write_cifar_batch(path, np.zeros((4, 3072), dtype=np.uint8), [0, 1, 2])
    assert_dataset_error(load_CIFAR10, tmp_path, path, "4 integers")


@pytest.mark.parametrize("bad_label", [10, -1])
def test_cifar_labels_out_of_range_are_detected(tmp_path, bad_label):
    make_cifar(tmp_path)
    path = tmp_path / "test_batch"
    write_cifar_batch(path, np.zeros((3, 3072), dtype=np.uint8), [0, bad_label, 9])
    assert_dataset_error(load_CIFAR10, tmp_path, path, "out of range")


# ----------------------------------------------------------------------------------
# The committed sample
# ----------------------------------------------------------------------------------

def test_committed_sample_loads():
    cifar = get_CIFAR10_data(num_training=400, num_validation=100, num_test=200,
                             data_dir=SAMPLE_DATA_DIR)
    assert cifar["X_train"].shape == (400, 3, 32, 32)
    assert cifar["X_val"].shape == (100, 3, 32, 32) and cifar["X_test"].shape == (200, 3, 32, 32)
    mnist = get_MNIST_data(num_training=900, num_validation=100, num_test=500,
                           data_dir=SAMPLE_DATA_DIR)
    assert mnist["X_train"].shape == (900, 1, 28, 28) and mnist["X_test"].shape == (500, 1, 28, 28)
    for data in (cifar, mnist):  # real images of all ten classes, not a constant fill
        assert set(np.unique(data["y_train"])) == set(range(10))
        assert data["X_train"].std() > 10


# ----------------------------------------------------------------------------------
# Where other courses' notebooks keep the data, and autograding
# ----------------------------------------------------------------------------------

@pytest.fixture
def notebook_folder(tmp_path, monkeypatch):
    """A notebook's folder as the working directory, with no NNDL_DATA, not autograding,
    and the per-user default folder pointed at an empty place."""
    folder = tmp_path / "hw5"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.delenv("NNDL_DATA", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setattr(data_utils, "DEFAULT_DATA_DIR", tmp_path / "user_cache" / "nndl")
    monkeypatch.setattr(data_utils, "REPO_ROOT", tmp_path / "course")
    return folder


@pytest.mark.parametrize("place", ["utils/datasets", "cs231n/datasets"])
def test_get_cifar10_data_finds_ucla_and_cs231n_locations(notebook_folder, place):
    make_cifar(notebook_folder / place / "cifar-10-batches-py", sizes=(4, 3, 5, 2, 6, 3))
    data = get_CIFAR10_data(num_training=10, num_validation=2, num_test=2)
    assert data["X_train"].shape == (10, 3, 32, 32)


def test_the_per_user_folder_comes_before_the_notebooks_folder(notebook_folder):
    make_cifar(data_utils.DEFAULT_DATA_DIR / "cifar-10-batches-py", sizes=(2,) * 5 + (2,))
    make_cifar(notebook_folder / "utils/datasets/cifar-10-batches-py", sizes=(4,) * 5 + (4,))
    assert data_utils.find_dataset("cifar-10-batches-py", "cifar10") == (
        data_utils.DEFAULT_DATA_DIR / "cifar-10-batches-py")
    assert len(get_CIFAR10_data(num_training=9, num_validation=1, num_test=2)["X_train"]) == 9


def test_data_beside_the_notebook_is_found(notebook_folder):
    """A student who unpacked the archive next to the notebook (./cifar-10-batches-py)."""
    make_cifar(notebook_folder / "cifar-10-batches-py", sizes=(2,) * 5 + (2,))
    assert data_utils.find_dataset("cifar-10-batches-py", "cifar10") == (
        notebook_folder / "cifar-10-batches-py")
    assert len(get_CIFAR10_data(num_training=9, num_validation=1, num_test=2)["X_train"]) == 9


def test_missing_data_error_lists_every_place_and_the_download_command(notebook_folder):
    with pytest.raises(FileNotFoundError) as error:
        get_CIFAR10_data()
    message = str(error.value)
    for folder in data_utils.data_search_dirs():
        assert str(folder / "cifar-10-batches-py") in message
    for place in ("cifar-10-batches-py", "datasets/cifar-10-batches-py",
                  "utils/datasets/cifar-10-batches-py", "cs231n/datasets/cifar-10-batches-py"):
        assert f"    {notebook_folder / place}\n" in message + "\n"
    assert "python -m utils.download cifar10\n" in message


def test_autograding_never_reads_data_from_the_submission(notebook_folder, monkeypatch,
                                                          tmp_path):
    make_cifar(notebook_folder / "utils/datasets/cifar-10-batches-py", sizes=(2,) * 6)
    make_cifar(data_utils.DEFAULT_DATA_DIR / "cifar-10-batches-py", sizes=(2,) * 6)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert data_utils.data_search_dirs() == []
    with pytest.raises(FileNotFoundError, match="only from NNDL_DATA"):
        get_CIFAR10_data(num_training=9, num_validation=1, num_test=2)
    with pytest.raises(FileNotFoundError, match="set NNDL_DATA"):
        resolve_data_dir()
    # NNDL_DATA and an explicit data_dir still work while autograding.
    make_cifar(tmp_path / "graders_data" / "cifar-10-batches-py", sizes=(2,) * 6)
    monkeypatch.setenv("NNDL_DATA", str(tmp_path / "graders_data"))
    assert len(get_CIFAR10_data(num_training=9, num_validation=1, num_test=2)["X_test"]) == 2
    monkeypatch.delenv("NNDL_DATA")
    explicit = get_CIFAR10_data(num_training=9, num_validation=1, num_test=2,
                                data_dir=tmp_path / "graders_data")
    assert len(explicit["X_val"]) == 1


def test_default_download_folder_is_per_user_and_follows_xdg_cache_home(tmp_path):
    def default_dir(**env):
        environment = {key: value for key, value in os.environ.items()
                       if key not in ("XDG_CACHE_HOME", "HOME")}
        environment.update(env, PYTHONPATH=str(Path(utils.__file__).resolve().parent.parent))
        result = subprocess.run(
            [sys.executable, "-c", "from utils.data_utils import DEFAULT_DATA_DIR as d; print(d)"],
            env=environment, capture_output=True, text=True, check=True)
        return Path(result.stdout.strip())

    assert default_dir(HOME=str(tmp_path / "home")) == tmp_path / "home" / ".cache" / "nndl"
    assert default_dir(HOME=str(tmp_path / "home"),
                       XDG_CACHE_HOME=str(tmp_path / "cache")) == tmp_path / "cache" / "nndl"


def test_the_demo_grades_with_the_data_the_loaders_find(notebook_folder):
    from grading.classroom import demo
    env, data_dir, full = demo.grading_env()
    assert data_dir == data_utils.DEFAULT_DATA_DIR and not full   # nothing anywhere
    make_cifar(notebook_folder / "utils/datasets/cifar-10-batches-py", sizes=(2,) * 6)
    env, data_dir, full = demo.grading_env()
    assert data_dir == notebook_folder / "utils" / "datasets" and full
    assert env["NNDL_DATA"] == str(data_dir)
