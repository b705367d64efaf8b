"""Pictures of training: image and filter grids, loss / accuracy curves.

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
    squeeze = np.ndim(Xs) == 3
    Xs = _as_images(Xs, 'visualize_grid')
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


def _as_images(Xs, function):
    """Xs as a float64 (N, H, W, C) array (an (N, H, W) stack gets C = 1)."""
    Xs = np.asarray(Xs, dtype=np.float64)
    if Xs.ndim == 3:
        Xs = Xs[..., None]
    if Xs.ndim != 4 or Xs.shape[0] == 0:
        raise ValueError(f"{function}: expected images (N, H, W, C) with N >= 1, "
                         f"got shape {Xs.shape}")
    return Xs


def _to_unit_range(grid):
    """grid rescaled as a whole to [0, 1] (all zeros if it is constant)."""
    low, high = grid.min(), grid.max()
    return (grid - low) / (high - low) if high > low else np.zeros_like(grid)


def vis_grid(Xs):
    """Tile images into a square grid, rescaled together (not one by one) to [0, 1].

    Inputs:
    - Xs: images, shape (N, H, W, C) or (N, H, W).

    Returns: an array of shape (A * (H + 1), A * (W + 1), C) with A = ceil(sqrt(N)),
    images in row-major order, each followed by a one-pixel gap on the right and below;
    gaps and empty cells hold the smallest value of Xs before the rescaling. (Compare
    visualize_grid, which rescales each image on its own.)
    """
    Xs = _as_images(Xs, 'vis_grid')
    num_images, height, width, channels = Xs.shape
    side = int(np.ceil(np.sqrt(num_images)))
    grid = np.full((side * (height + 1), side * (width + 1), channels), Xs.min())
    for index, image in enumerate(Xs):
        row, col = divmod(index, side)
        top, left = row * (height + 1), col * (width + 1)
        grid[top:top + height, left:left + width] = image
    return _to_unit_range(grid)


def vis_nn(rows):
    """Lay out rows of images (a list of lists, e.g. one row per layer or per class) in a
    grid, rescaled together to [0, 1].

    Inputs:
    - rows: N lists of D images each, every image of shape (H, W, C).

    Returns: an array of shape (N * (H + 1), D * (W + 1), C): image x of row y at
    rows y * (H + 1) ... and columns x * (W + 1) ..., with one-pixel gaps holding 1 before
    the rescaling.
    """
    if len(rows) == 0 or len(rows[0]) == 0:
        raise ValueError("vis_nn: expected a non-empty list of non-empty rows of images")
    images = [[np.asarray(image, dtype=np.float64) for image in row] for row in rows]
    height, width, channels = images[0][0].shape
    columns = len(images[0])
    for y, row in enumerate(images):
        if len(row) != columns or any(image.shape != (height, width, channels)
                                      for image in row):
            raise ValueError(f"vis_nn: every row must hold {columns} images of shape "
                             f"{(height, width, channels)}; row {y} does not")
    grid = np.ones((len(images) * (height + 1), columns * (width + 1), channels))
    for y, row in enumerate(images):
        for x, image in enumerate(row):
            top, left = y * (height + 1), x * (width + 1)
            grid[top:top + height, left:left + width] = image
    return _to_unit_range(grid)


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
