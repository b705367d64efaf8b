"""Load CIFAR-10 and MNIST from their official files into NumPy arrays.

Every image array this module returns is in NCHW layout, the layout of all the
networks in the course:

    CIFAR-10: X of shape (N, 3, 32, 32), y of shape (N,) with labels 0..9
    MNIST:    X of shape (N, 1, 28, 28), y of shape (N,) with labels 0..9

Pixel values keep their original 0..255 scale (as floats unless asked otherwise).

Where the data lives
--------------------
`python -m utils.download {cifar10,mnist,all}` installs a dataset into the data
directory that `resolve_data_dir` picks: the `--data-dir` argument if given, else the
`NNDL_DATA` environment variable, else a per-user folder outside any assignment,
`$XDG_CACHE_HOME/nndl` (`~/.cache/nndl` by default, DEFAULT_DATA_DIR), so that 170 MB of
CIFAR-10 never sits in a folder students submit. Inside it, CIFAR-10 is the official
`cifar-10-batches-py/` folder and MNIST is `mnist/` holding the four official IDX `.gz`
files.

The loaders (`get_CIFAR10_data()`, `get_MNIST_data()`) look, in order: in the `data_dir`
argument if given (only there), else in `NNDL_DATA` if set (only there), else in each of
`data_search_dirs()`: the per-user folder, then, relative to the notebook's folder, the
folder itself (`./cifar-10-batches-py/`, `./mnist/`), `datasets/`, where UCLA's HW5
notebooks keep the data (`utils/datasets/`) and CS231n's (`cs231n/datasets/`), and
`datasets/` at the repository root. While nbgrader autogrades
(NBGRADER_EXECUTION=autograde) only `data_dir` and `NNDL_DATA` count: the data never comes
from a folder of the submission. A tiny copy of both datasets, in the same formats, ships
in `data_sample/` (`SAMPLE_DATA_DIR`).

A missing dataset raises FileNotFoundError naming the command that fetches it; a
truncated or corrupt file raises DatasetError naming the file and what is wrong.
"""
import gzip
import os
import pickle
import shlex
import struct
import zlib
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR_ENV_VAR = "NNDL_DATA"
DEFAULT_DATA_DIR = (Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                    / "nndl").absolute()
SAMPLE_DATA_DIR = REPO_ROOT / "data_sample"
# Folders, relative to the notebook's folder (the working directory), where other courses'
# notebooks keep their datasets: UCLA ECE C147/C247 HW5 and CS231n assignment 2.
# Relative to the notebook's folder: the folder itself (cifar-10-batches-py/ beside the
# notebook), a datasets/ folder there, UCLA's and CS231n's places.
COURSE_DATA_DIRS = (Path("."), Path("datasets"), Path("utils") / "datasets",
                    Path("cs231n") / "datasets")

CIFAR10_DIRNAME = "cifar-10-batches-py"
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{k}" for k in range(1, 6))
CIFAR10_TEST_BATCH = "test_batch"
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
CIFAR10_IMAGE_SHAPE = (3, 32, 32)

MNIST_DIRNAME = "mnist"
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
MNIST_IMAGE_SHAPE = (1, 28, 28)
IDX_IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
IDX_LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension

NUM_CLASSES = 10


class DatasetError(ValueError):
    """A dataset file exists but is truncated, corrupt or not in the expected format."""


# ----------------------------------------------------------------------------------
# Where the data lives
# ----------------------------------------------------------------------------------

def autograding():
    """True while nbgrader autogrades (NBGRADER_EXECUTION=autograde)."""
    return os.environ.get("NBGRADER_EXECUTION") == "autograde"


def resolve_data_dir(data_dir=None):
    """Return the data directory to install into, as an absolute Path.

    Order: the `data_dir` argument, else the NNDL_DATA environment variable (if set and
    non-empty), else the per-user DEFAULT_DATA_DIR. While autograding, only the first two
    count: without either, FileNotFoundError says to set NNDL_DATA.
    """
    if data_dir is None:
        data_dir = os.environ.get(DATA_DIR_ENV_VAR)
    if not data_dir:
        if autograding():
            raise FileNotFoundError(
                f"autograding reads datasets only from {DATA_DIR_ENV_VAR} (never from the "
                f"submission's folders): set {DATA_DIR_ENV_VAR} to the data directory")
        data_dir = DEFAULT_DATA_DIR
    return Path(data_dir).expanduser().absolute()


def data_search_dirs(data_dir=None):
    """The data directories the loaders search, in order, as absolute Paths.

    [data_dir] if given; else [NNDL_DATA] if set; else, while autograding, nothing;
    else DEFAULT_DATA_DIR, then COURSE_DATA_DIRS relative to the working directory,
    then utils/datasets and datasets/ of this repository (duplicates removed).
    """
    explicit = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV_VAR)
    if explicit:
        return [Path(explicit).expanduser().absolute()]
    if autograding():
        return []
    here = Path.cwd()
    candidates = [DEFAULT_DATA_DIR, *(here / folder for folder in COURSE_DATA_DIRS),
                  REPO_ROOT / "utils" / "datasets", REPO_ROOT / "datasets"]
    unique = []
    for folder in candidates:
        folder = folder.absolute()
        if folder not in unique:
            unique.append(folder)
    return unique


def find_dataset(dirname, command_name, data_dir=None):
    """The folder `<data directory>/<dirname>` of the first of data_search_dirs() that has it.

    Raises FileNotFoundError listing every place it looked and the command that downloads
    the dataset (`command_name`: 'cifar10' or 'mnist').
    """
    searched = data_search_dirs(data_dir)
    for folder in searched:
        if (folder / dirname).is_dir():
            return folder / dirname
    if not searched:
        raise FileNotFoundError(
            f"{command_name} data: autograding reads datasets only from {DATA_DIR_ENV_VAR} "
            f"(never from the submission's folders), and {DATA_DIR_ENV_VAR} is not set. "
            f"Set it to a directory holding {dirname}/.")
    places = "\n".join(f"    {folder / dirname}" for folder in searched)
    command = f"python -m utils.download {command_name}"
    if len(searched) == 1:   # data_dir or NNDL_DATA: install there
        command += f" --data-dir {shlex.quote(str(searched[0]))}"
    raise FileNotFoundError(
        f"{command_name} data not found. Looked in:\n{places}\n"
        f"Get it with:\n    {command}\n"
        f"or point {DATA_DIR_ENV_VAR} (or data_dir=...) at a directory that already holds "
        f"{dirname}/.")


def _missing_dataset_error(command_name, folder, missing_file):
    """FileNotFoundError for a missing dataset, giving the command that installs it.

    `folder` is the dataset's own folder (e.g. <data_dir>/cifar-10-batches-py); the
    download command writes it under its parent.
    """
    data_dir = Path(folder).absolute().parent
    command = f"python -m utils.download {command_name} --data-dir {shlex.quote(str(data_dir))}"
    return FileNotFoundError(
        f"{command_name} data not found: {missing_file} does not exist.\n"
        f"Get it with:\n    {command}\n"
        f"or point {DATA_DIR_ENV_VAR} (or data_dir=...) at a directory that already holds it.")


# ----------------------------------------------------------------------------------
# CIFAR-10: python pickles of {'data': uint8 (N, 3072) in CHW order, 'labels': [int]}
# ----------------------------------------------------------------------------------

class _BatchUnpickler(pickle.Unpickler):
    """Unpickler that only rebuilds NumPy arrays, so a tampered file cannot run code."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),   # written by NumPy 1.x and Python 2
        ("numpy._core.multiarray", "_reconstruct"),  # written by NumPy 2.x
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),                       # bytes pickled by Python 3, protocol 2
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def load_CIFAR_batch(path):
    """Read one CIFAR-10 batch file (e.g. data_batch_1 or test_batch).

    The file is a (Python 2) pickle of a dict whose 'data' entry is a uint8 array of
    shape (N, 3072), each row an image as 1024 red, then 1024 green, then 1024 blue
    values in row-major order, and whose 'labels' entry is a list of N ints in 0..9.
    Any N >= 1 is accepted (the official batches hold 10,000).

    Returns:
        X: uint8 array of shape (N, 3, 32, 32)
        y: int64 array of shape (N,)

    Raises DatasetError naming the file if it cannot be unpickled or its contents
    have the wrong type, size or label values.
    """
    path = Path(path)
    with open(path, "rb") as file:
        try:
            batch = _BatchUnpickler(file, encoding="latin1").load()
        except Exception as err:  # a corrupt pickle can fail in many ways
            raise DatasetError(f"{path}: cannot unpickle a CIFAR-10 batch "
                               f"({type(err).__name__}: {err})") from err
    if not isinstance(batch, dict):
        raise DatasetError(f"{path}: expected a pickled dict, found {type(batch).__name__}")
    batch = {key.decode("latin1") if isinstance(key, bytes) else key: value
             for key, value in batch.items()}
    missing = {"data", "labels"} - batch.keys()
    if missing:
        raise DatasetError(f"{path}: missing entries {sorted(missing)}")

    data, labels = batch["data"], np.asarray(batch["labels"])
    image_size = int(np.prod(CIFAR10_IMAGE_SHAPE))
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8
            and data.ndim == 2 and data.shape[1] == image_size and len(data) > 0):
        found = (f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray)
                 else type(data).__name__)
        raise DatasetError(f"{path}: 'data' must be a uint8 array of shape (N, {image_size}) "
                           f"with N >= 1, found {found}")
    if labels.shape != (len(data),) or not np.issubdtype(labels.dtype, np.integer):
        raise DatasetError(f"{path}: 'labels' must hold {len(data)} integers (one per image), "
                           f"found {labels.dtype} of shape {labels.shape}")
    _check_label_range(labels, path)
    return data.reshape(-1, *CIFAR10_IMAGE_SHAPE), labels.astype(np.int64)


def load_CIFAR10(root, dtype=np.float32):
    """Load all of CIFAR-10 from its `cifar-10-batches-py` folder `root`.

    Returns (X_train, y_train, X_test, y_test):
        X_train: (N_train, 3, 32, 32) array of `dtype`, data_batch_1..5 in order
        y_train: (N_train,) int64
        X_test:  (N_test, 3, 32, 32) array of `dtype`, from test_batch
        y_test:  (N_test,) int64
    N_train = 50,000 and N_test = 10,000 for the official files. Pixel values are 0..255.

    Raises FileNotFoundError (with the download command) if a batch is missing and
    DatasetError if one is corrupt.
    """
    root = Path(root)
    for name in (*CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH):
        if not (root / name).is_file():
            raise _missing_dataset_error("cifar10", root, root / name)
    train = [load_CIFAR_batch(root / name) for name in CIFAR10_TRAIN_BATCHES]
    X_test, y_test = load_CIFAR_batch(root / CIFAR10_TEST_BATCH)
    X_train = np.concatenate([X for X, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return X_train.astype(dtype, copy=False), y_train, X_test.astype(dtype, copy=False), y_test


def get_CIFAR10_data(num_training=49000, num_validation=1000, num_test=1000,
                     subtract_mean=True, data_dir=None, dtype=np.float32):
    """CIFAR-10 split into train / validation / test sets, ready for a network.

    Train is the first `num_training` of the 50,000 training images, validation the
    `num_validation` images right after them, test the first `num_test` images of
    test_batch. With `subtract_mean`, the mean image of the training split is
    subtracted from all three splits.

    Returns a dict with
        'X_train': (num_training, 3, 32, 32),   'y_train': (num_training,)
        'X_val':   (num_validation, 3, 32, 32), 'y_val':   (num_validation,)
        'X_test':  (num_test, 3, 32, 32),       'y_test':  (num_test,)
    X arrays of the floating `dtype`, y arrays int64. The batches are read from the
    cifar-10-batches-py/ folder that `find_dataset` finds (in `data_dir` if given; see the
    module docstring for the places searched without it).
    """
    root = find_dataset(CIFAR10_DIRNAME, "cifar10", data_dir)
    X_train, y_train, X_test, y_test = load_CIFAR10(root, dtype=np.uint8)
    _check_split_sizes(num_training, num_validation, num_test, len(X_train), len(X_test), root)
    train = slice(0, num_training)
    val = slice(num_training, num_training + num_validation)
    return _make_splits(X_train, y_train, X_test, y_test, train, val, num_test,
                        subtract_mean, dtype)


# ----------------------------------------------------------------------------------
# MNIST: gzipped IDX files
# ----------------------------------------------------------------------------------

_IDX_TYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path, expected_magic=None):
    """Read an IDX file (gzip-compressed if its name ends in .gz) into an array.

    The header is a big-endian magic number (two zero bytes, a type code, the number
    of dimensions d), then d big-endian uint32 sizes; the values follow. The file must
    hold exactly as many values as the sizes promise. If `expected_magic` is given,
    the magic number must equal it (2051 for MNIST images, 2049 for labels).

    Returns an array of shape given by the header (native byte order).
    Raises DatasetError naming the file if it is truncated, corrupt or malformed.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as file:
            raw = file.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise DatasetError(f"{path}: cannot decompress, the file is truncated or corrupt "
                           f"({type(err).__name__}: {err})") from err

    if len(raw) < 4:
        raise DatasetError(f"{path}: {len(raw)} bytes is too short for an IDX header")
    magic = int.from_bytes(raw[:4], "big")
    zeros, type_code, ndim = raw[:2], raw[2], raw[3]
    if (expected_magic is not None and magic != expected_magic) or zeros != b"\0\0" \
            or type_code not in _IDX_TYPES:
        expected = f" (expected {expected_magic})" if expected_magic is not None else ""
        raise DatasetError(f"{path}: bad IDX magic number {magic}{expected}")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DatasetError(f"{path}: header truncated ({len(raw)} bytes, "
                           f"{ndim} dimensions need {header_size})")
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    dtype = _IDX_TYPES[type_code]
    expected_bytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header_size != expected_bytes:
        raise DatasetError(f"{path}: wrong length: header promises shape {shape} "
                           f"({expected_bytes} bytes of data) but the file holds "
                           f"{len(raw) - header_size}")
    values = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    return values.astype(dtype.newbyteorder("="))  # a writable copy in native order


def write_idx(path, array):
    """Write `array` (uint8, any shape) as an IDX file, gzip-compressed if `path`
    ends in .gz. The gzip header carries no name or time, so equal arrays give
    identical files."""
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"write_idx writes uint8 arrays only, got {array.dtype}")
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + np.ascontiguousarray(array).tobytes()
    path = Path(path)
    with open(path, "wb") as file:
        if path.suffix == ".gz":
            with gzip.GzipFile(filename="", mode="wb", fileobj=file, mtime=0) as packed:
                packed.write(payload)
        else:
            file.write(payload)


def _read_mnist_pair(images_path, labels_path):
    """Read one MNIST images file and its labels file.

    Returns X: uint8 (N, 1, 28, 28) and y: int64 (N,)."""
    images = read_idx(images_path, expected_magic=IDX_IMAGES_MAGIC)
    if images.shape[1:] != MNIST_IMAGE_SHAPE[1:] or len(images) == 0:
        raise DatasetError(f"{images_path}: wrong array size: expected N >= 1 images of "
                           f"{MNIST_IMAGE_SHAPE[1:]}, found shape {images.shape}")
    labels = read_idx(labels_path, expected_magic=IDX_LABELS_MAGIC)
    if len(labels) != len(images):
        raise DatasetError(f"{labels_path}: holds {len(labels)} labels but "
                           f"{images_path} holds {len(images)} images")
    _check_label_range(labels, labels_path)
    return images[:, np.newaxis], labels.astype(np.int64)


def load_MNIST(root, dtype=np.float32):
    """Load all of MNIST from the folder `root` holding the four official IDX .gz files.

    Returns (X_train, y_train, X_test, y_test):
        X_train: (N_train, 1, 28, 28) array of `dtype`, y_train: (N_train,) int64
        X_test:  (N_test, 1, 28, 28) array of `dtype`,  y_test:  (N_test,) int64
    N_train = 60,000 and N_test = 10,000 for the official files, in their original
    order. Pixel values are 0..255.

    Raises FileNotFoundError (with the download command) if a file is missing and
    DatasetError if one is corrupt.
    """
    root = Path(root)
    for name in MNIST_FILES.values():
        if not (root / name).is_file():
            raise _missing_dataset_error("mnist", root, root / name)
    X_train, y_train = _read_mnist_pair(root / MNIST_FILES["train_images"],
                                        root / MNIST_FILES["train_labels"])
    X_test, y_test = _read_mnist_pair(root / MNIST_FILES["test_images"],
                                      root / MNIST_FILES["test_labels"])
    return X_train.astype(dtype, copy=False), y_train, X_test.astype(dtype, copy=False), y_test


def get_MNIST_data(num_training=55000, num_validation=5000, num_test=10000,
                   subtract_mean=True, data_dir=None, dtype=np.float32):
    """MNIST split into train / validation / test sets, ready for a network.

    Train is the first `num_training` of the 60,000 official training images,
    validation the last `num_validation` of them, test the first `num_test` of the
    official 10,000 test images. With `subtract_mean`, the mean image of the training
    split is subtracted from all three splits.

    Returns a dict with
        'X_train': (num_training, 1, 28, 28),   'y_train': (num_training,)
        'X_val':   (num_validation, 1, 28, 28), 'y_val':   (num_validation,)
        'X_test':  (num_test, 1, 28, 28),       'y_test':  (num_test,)
    X arrays of the floating `dtype`, y arrays int64. The files are read from the mnist/
    folder that `find_dataset` finds (in `data_dir` if given; see the module docstring for
    the places searched without it).
    """
    root = find_dataset(MNIST_DIRNAME, "mnist", data_dir)
    X_train, y_train, X_test, y_test = load_MNIST(root, dtype=np.uint8)
    _check_split_sizes(num_training, num_validation, num_test, len(X_train), len(X_test), root)
    train = slice(0, num_training)
    val = slice(len(X_train) - num_validation, len(X_train))
    return _make_splits(X_train, y_train, X_test, y_test, train, val, num_test,
                        subtract_mean, dtype)


# ----------------------------------------------------------------------------------
# Shared checks and splitting
# ----------------------------------------------------------------------------------

def _check_label_range(labels, path):
    """Raise DatasetError naming `path` unless every label lies in 0..NUM_CLASSES-1."""
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise DatasetError(f"{path}: labels out of range: found values from {labels.min()} "
                           f"to {labels.max()}, expected 0..{NUM_CLASSES - 1}")


def _check_split_sizes(num_training, num_validation, num_test, available_train,
                       available_test, root):
    """Raise ValueError unless the requested split sizes fit the data found in `root`."""
    sizes = {"num_training": num_training, "num_validation": num_validation,
             "num_test": num_test}
    for name, size in sizes.items():
        if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {size!r}")
    if num_training < 1:
        raise ValueError("num_training must be at least 1 (the mean image needs training data)")
    if num_training + num_validation > available_train:
        raise ValueError(f"num_training + num_validation = {num_training + num_validation} "
                         f"exceeds the {available_train} training images in {root}")
    if num_test > available_test:
        raise ValueError(f"num_test = {num_test} exceeds the {available_test} "
                         f"test images in {root}")


def _make_splits(X_train, y_train, X_test, y_test, train, val, num_test,
                 subtract_mean, dtype):
    """Cut the train/val/test splits (slices `train`, `val`, first `num_test`), convert
    the images to `dtype` and optionally subtract the training split's mean image."""
    if not np.issubdtype(np.dtype(dtype), np.floating):
        raise ValueError(f"dtype must be a floating type, got {np.dtype(dtype)}")
    data = {
        "X_train": X_train[train].astype(dtype), "y_train": y_train[train].copy(),
        "X_val": X_train[val].astype(dtype), "y_val": y_train[val].copy(),
        "X_test": X_test[:num_test].astype(dtype), "y_test": y_test[:num_test].copy(),
    }
    if subtract_mean:
        mean_image = data["X_train"].mean(axis=0, dtype=np.float64).astype(dtype)
        for key in ("X_train", "X_val", "X_test"):
            data[key] -= mean_image
    return data
