"""Tests of nndl.augment: random flips and crops of image minibatches."""
import numpy as np

from nndl.augment import flip_and_crop, random_crop, random_flip


def images(num_images=64):
    return np.random.default_rng(0).standard_normal((num_images, 3, 5, 6))


def test_random_flip_mirrors_about_half_of_the_images():
    X = images()
    out = random_flip(X, np.random.default_rng(1))
    flipped = np.array([np.array_equal(o, x[:, :, ::-1]) for o, x in zip(out, X)])
    kept = np.array([np.array_equal(o, x) for o, x in zip(out, X)])
    assert np.all(flipped ^ kept)
    assert 16 < flipped.sum() < 48
    assert np.array_equal(X, images())  # the input is left alone


def test_random_crop_shifts_each_image_within_pad():
    X = images(20)
    pad = 2
    out = random_crop(X, np.random.default_rng(2), pad=pad)
    assert out.shape == X.shape
    padded = np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    for o, p in zip(out, padded):
        windows = [(top, left) for top in range(2 * pad + 1) for left in range(2 * pad + 1)
                   if np.array_equal(o, p[:, top:top + 5, left:left + 6])]
        assert windows, "every output is a window of the padded image"
    assert np.array_equal(random_crop(X, np.random.default_rng(2), pad=0), X)


def test_same_generator_state_same_augmentation():
    X = images(8)
    first = flip_and_crop(X, np.random.default_rng(3))
    second = flip_and_crop(X, np.random.default_rng(3))
    other = flip_and_crop(X, np.random.default_rng(4))
    assert np.array_equal(first, second)
    assert not np.array_equal(first, other)
