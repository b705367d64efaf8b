"""Pictures of training: filter grids and loss / accuracy curves.

The plotting functions build a matplotlib Figure without touching pyplot's global state,
so they work the same in a notebook (the returned figure displays itself) and in a script
without a display (pass ``path`` to save a PNG with the Agg renderer).
"""
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def visualize_grid(Xs, ubound=255.0, padding=1):
    """Tile a stack of images into one image, each rescaled to [0, ubound].

    Inputs:
    - Xs: images, shape (N, H, W, C) (C = 1 or 3) or (N, H, W).
    - ubound: the value the largest entry of each image is mapped to (its smallest
      goes to 0).
    - padding: pixels of blank space between neighbouring images.

    Returns: an array of shape (G*(H+padding)-padding, G*(W+padding)-padding, C) with
    G = ceil(sqrt(N)) (or without the last axis if Xs had none).
    """
    Xs = np.asarray(Xs, dtype=np.float64)
    squeeze = Xs.ndim == 3
    if squeeze:
        Xs = Xs[..., None]
    if Xs.ndim != 4 or Xs.shape[0] == 0:
        raise ValueError(f"visualize_grid: expected images (N, H, W, C) with N >= 1, "
                         f"got shape {Xs.shape}")
    num_images, height, width, channels = Xs.shape
    grid_size = int(np.ceil(np.sqrt(num_images)))
    grid = np.zeros((grid_size * (height + padding) - padding,
                     grid_size * (width + padding) - padding, channels))
    for index, image in enumerate(Xs):
        row, col = divmod(index, grid_size)
        low, high = image.min(), image.max()
        scaled = ubound * (image - low) / (high - low) if high > low else np.zeros_like(image)
        top, left = row * (height + padding), col * (width + padding)
        grid[top:top + height, left:left + width] = scaled
    return grid[..., 0] if squeeze else grid


def plot_filters(weights, path=None, title='First-layer filters'):
    """Show convolutional filters of shape (F, C, HH, WW) as a grid of small images.

    Three-channel filters are drawn in color, others channel by channel in gray.
    Returns the Figure; if path is given, also saves it there as a PNG.
    """
    weights = np.asarray(weights)
    if weights.ndim != 4:
        raise ValueError(f"plot_filters: weights must be (F, C, HH, WW), got {weights.shape}")
    if weights.shape[1] == 3:
        images = weights.transpose(0, 2, 3, 1)
    else:
        images = weights.reshape(-1, *weights.shape[2:])
    grid = visualize_grid(images, ubound=1.0)
    fig = Figure(figsize=(5, 5))
    ax = fig.add_subplot()
    ax.imshow(grid, cmap=None if grid.ndim == 3 else 'gray', interpolation='nearest')
    ax.set_title(title)
    ax.axis('off')
    _save(fig, path)
    return fig


def plot_training_curves(loss_history, train_acc_history, val_acc_history, path=None):
    """Plot the training loss per iteration and the accuracies per epoch, one above the
    other. Returns the Figure; if path is given, also saves it there as a PNG."""
    fig = Figure(figsize=(8, 7))
    loss_ax, acc_ax = fig.subplots(2, 1)
    loss_ax.plot(loss_history, '.', markersize=2, alpha=0.5)
    loss_ax.set(title='Training loss', xlabel='Iteration', ylabel='Loss')
    epochs = np.arange(len(train_acc_history))
    acc_ax.plot(epochs, train_acc_history, '-o', label='train')
    acc_ax.plot(epochs, val_acc_history, '-o', label='val')
    acc_ax.set(title='Classification accuracy', xlabel='Epoch', ylabel='Accuracy')
    acc_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    acc_ax.legend(loc='lower right')
    fig.tight_layout()
    _save(fig, path)
    return fig


def _save(fig, path):
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
