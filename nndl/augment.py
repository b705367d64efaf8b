"""Data augmentation for minibatches of images: random changes that keep the label.

Each function has the signature the Solver's ``augment`` argument expects,

    X_new = augment(X, rng)

with X of shape (N, C, H, W) and rng a np.random.Generator (the Solver passes its own,
seeded one, so training stays reproducible). X itself is never modified.
"""
import numpy as np


def random_flip(X, rng):
    """Mirror each image left-right with probability 1/2. Returns shape (N, C, H, W)."""
    flip = rng.random(X.shape[0]) < 0.5
    out = X.copy()
    out[flip] = X[flip, :, :, ::-1]
    return out


def random_crop(X, rng, pad=4):
    """Shift each image by up to ``pad`` pixels in each direction, filling with zeros.

    Equivalent to padding every image with ``pad`` zeros on each side and cutting out a
    random H x W window. Returns shape (N, C, H, W).
    """
    num_images, _, height, width = X.shape
    padded = np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    tops = rng.integers(0, 2 * pad + 1, size=num_images)
    lefts = rng.integers(0, 2 * pad + 1, size=num_images)
    rows = tops[:, None] + np.arange(height)          # (N, H)
    cols = lefts[:, None] + np.arange(width)          # (N, W)
    images = np.arange(num_images)[:, None, None, None]
    channels = np.arange(X.shape[1])[None, :, None, None]
    return padded[images, channels, rows[:, None, :, None], cols[:, None, None, :]]


def flip_and_crop(X, rng, pad=4):
    """random_flip followed by random_crop: the usual augmentation for CIFAR-10."""
    return random_crop(random_flip(X, rng), rng, pad=pad)
