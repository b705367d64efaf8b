"""Make `data_sample/`, the tiny copy of CIFAR-10 and MNIST committed with the course.

    python -m utils.make_sample --cifar-dir /tmp/cifar/cifar-10-batches-py \\
                                --mnist-dir /path/to/mnist [--out data_sample]

The sample keeps the official file formats, so the loaders in utils.data_utils read it
exactly like the full data:

    cifar-10-batches-py/  data_batch_1..5 (the first CIFAR_TRAIN_PER_BATCH images of
                          each), test_batch (the first CIFAR_TEST images), batches.meta
    mnist/                the four IDX .gz files (the first MNIST_TRAIN training and
                          the first MNIST_TEST test images)

The output is the same, byte for byte, on every run with the same inputs.
"""
import argparse
import pickle
import struct
from pathlib import Path

import numpy as np

from utils.data_utils import (CIFAR10_CLASSES, CIFAR10_DIRNAME, CIFAR10_TEST_BATCH,
                              CIFAR10_TRAIN_BATCHES, MNIST_DIRNAME, MNIST_FILES,
                              SAMPLE_DATA_DIR, load_CIFAR_batch, load_MNIST, write_idx)

CIFAR_TRAIN_PER_BATCH = 100
CIFAR_TEST = 200
MNIST_TRAIN = 1000
MNIST_TEST = 500


class _Python2StylePickler(pickle._Pickler):
    """Pickler that writes bytes the way Python 2 wrote its str (SHORT_BINSTRING and
    BINSTRING opcodes), as the official CIFAR-10 batches do, instead of the
    `_codecs.encode` call Python 3 uses at protocol 2. Reading such a file with
    encoding="latin1" then follows the same path as reading the official files.
    It extends the dispatch table of the pure-Python pickler, which allows that."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_bytes_as_python2_str(self, value):
        if len(value) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(value)]) + value)
        else:
            self.write(pickle.BINSTRING + struct.pack("<I", len(value)) + value)
        self.memoize(value)

    dispatch[bytes] = save_bytes_as_python2_str


def dump_python2_pickle(obj, path):
    """Pickle `obj` to `path` with protocol 2, bytes stored as Python 2 str."""
    with open(path, "wb") as file:
        _Python2StylePickler(file, protocol=2).dump(obj)


def write_cifar_batch(path, images, labels, description):
    """Write a CIFAR-10 batch file in the official layout: a Python 2 style pickle of
    {b'batch_label', b'labels', b'data', b'filenames'} holding `images` (uint8,
    (N, 3, 32, 32)) as rows of 3072 CHW values and `labels` (N ints)."""
    batch = {
        b"batch_label": description.encode(),
        b"labels": [int(label) for label in labels],
        b"data": np.ascontiguousarray(images, dtype=np.uint8).reshape(len(images), -1),
        b"filenames": [f"sample_{index:05d}.png".encode() for index in range(len(images))],
    }
    dump_python2_pickle(batch, path)


def make_cifar_sample(cifar_dir, out_dir):
    """Copy the first images of each CIFAR-10 batch in `cifar_dir` into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {name: CIFAR_TRAIN_PER_BATCH for name in CIFAR10_TRAIN_BATCHES}
    counts[CIFAR10_TEST_BATCH] = CIFAR_TEST
    for name, count in counts.items():
        images, labels = load_CIFAR_batch(cifar_dir / name)
        write_cifar_batch(out_dir / name, images[:count], labels[:count],
                          f"sample of {name}: its first {count} images")
    meta = {b"num_cases_per_batch": CIFAR_TRAIN_PER_BATCH,
            b"label_names": [name.encode() for name in CIFAR10_CLASSES], b"num_vis": 3072}
    dump_python2_pickle(meta, out_dir / "batches.meta")


def make_mnist_sample(mnist_dir, out_dir):
    """Write the first images of the MNIST files in `mnist_dir` as IDX .gz into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    X_train, y_train, X_test, y_test = load_MNIST(mnist_dir, dtype=np.uint8)
    arrays = {
        "train_images": X_train[:MNIST_TRAIN, 0], "train_labels": y_train[:MNIST_TRAIN],
        "test_images": X_test[:MNIST_TEST, 0], "test_labels": y_test[:MNIST_TEST],
    }
    for key, array in arrays.items():
        write_idx(out_dir / MNIST_FILES[key], array.astype(np.uint8))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m utils.make_sample",
                                     description="Write the small committed data sample.")
    parser.add_argument("--cifar-dir", type=Path, required=True,
                        help="a full cifar-10-batches-py folder")
    parser.add_argument("--mnist-dir", type=Path, required=True,
                        help="a folder with the four full MNIST IDX .gz files")
    parser.add_argument("--out", type=Path, default=SAMPLE_DATA_DIR,
                        help=f"output folder (default: {SAMPLE_DATA_DIR})")
    args = parser.parse_args(argv)
    make_cifar_sample(args.cifar_dir, args.out / CIFAR10_DIRNAME)
    make_mnist_sample(args.mnist_dir, args.out / MNIST_DIRNAME)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
