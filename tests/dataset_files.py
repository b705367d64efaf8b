"""Tiny datasets written in the official CIFAR-10 and MNIST file formats, for the tests.

The writers here work from the format descriptions, not from utils.data_utils, so the
loaders are checked against independent code (only the Python 2 style pickler comes
from utils.make_sample, which the committed sample is made with).
"""
import gzip
import pickle
import struct

import numpy as np

from utils.make_sample import dump_python2_pickle

CIFAR_BATCHES = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                 "data_batch_5", "test_batch"]
MNIST_NAMES = {"train_images": "train-images-idx3-ubyte.gz",
               "train_labels": "train-labels-idx1-ubyte.gz",
               "test_images": "t10k-images-idx3-ubyte.gz",
               "test_labels": "t10k-labels-idx1-ubyte.gz"}


def write_cifar_batch(path, rows, labels, style="python2"):
    """Write a CIFAR-10 batch: `rows` uint8 (N, 3072), `labels` list of ints.

    style "python2": bytes keys stored as Python 2 str, like the official files;
    "bytes": bytes keys pickled by Python 3 (protocol 2); "str": str keys (protocol 4).
    """
    if style == "str":
        with open(path, "wb") as file:
            pickle.dump({"data": rows, "labels": list(labels)}, file, protocol=4)
    elif style == "bytes":
        with open(path, "wb") as file:
            pickle.dump({b"data": rows, b"labels": list(labels)}, file, protocol=2)
    else:
        dump_python2_pickle({b"batch_label": b"test", b"data": rows, b"labels": list(labels)},
                            path)


def make_cifar(folder, sizes=(4, 3, 5, 2, 6, 3), seed=0, style="python2"):
    """Write random batches (sizes in CIFAR_BATCHES order) into folder; return
    the rows (N, 3072) and labels of the training and the test data."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, size in zip(CIFAR_BATCHES, sizes, strict=True):
        rows = rng.integers(0, 256, size=(size, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, size=size).tolist()
        write_cifar_batch(folder / name, rows, labels, style)
        written.append((rows, labels))
    train_rows = np.concatenate([rows for rows, _ in written[:5]])
    train_labels = sum((labels for _, labels in written[:5]), [])
    return train_rows, train_labels, written[5][0], written[5][1]


def idx_bytes(magic, dims, payload):
    """Raw IDX content: big-endian magic, big-endian uint32 dims, then the payload."""
    return struct.pack(f">I{len(dims)}I", magic, *dims) + bytes(payload)


def write_gz(path, content):
    with gzip.open(path, "wb") as file:
        file.write(content)


def make_mnist(folder, n_train=7, n_test=3, seed=0):
    """Write random MNIST IDX .gz files into folder; return (images, labels) arrays
    for train and test, images uint8 (N, 28, 28)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    data = {}
    for split, count in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=count).astype(np.uint8)
        write_gz(folder / MNIST_NAMES[f"{split}_images"],
                 idx_bytes(2051, (count, 28, 28), images.tobytes()))
        write_gz(folder / MNIST_NAMES[f"{split}_labels"], idx_bytes(2049, (count,), labels))
        data[split] = (images, labels)
    return data
