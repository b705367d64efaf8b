"""Tests of utils.vis_utils: the image grids and the saved figures."""
import numpy as np
import pytest

from utils.vis_utils import plot_filters, plot_training_curves, vis_grid, vis_nn, visualize_grid


def test_visualize_grid_layout_and_scaling():
    images = np.arange(5 * 2 * 3 * 3, dtype=float).reshape(5, 2, 3, 3)
    grid = visualize_grid(images, ubound=1.0, padding=1)
    # 5 images -> a 3x3 grid of 2x3 tiles with 1 pixel between them.
    assert grid.shape == (3 * 3 - 1, 3 * 4 - 1, 3)
    first_tile = grid[:2, :3]
    assert first_tile.min() == 0.0 and first_tile.max() == 1.0
    assert np.all(grid[2, :] == 0)                 # padding row
    assert np.all(grid[6:, 4:] == 0)               # the empty slots after the 5th image
    assert visualize_grid(np.ones((4, 2, 2))).shape == (5, 5)  # 2x2 grid, no channel axis


def test_plots_are_saved_as_png(tmp_path):
    plot_filters(np.random.default_rng(0).standard_normal((8, 3, 5, 5)),
                 path=tmp_path / 'filters.png')
    plot_filters(np.random.default_rng(0).standard_normal((6, 1, 5, 5)),
                 path=tmp_path / 'gray.png')
    plot_training_curves([2.3, 1.0, 0.5], [0.1, 0.5], [0.1, 0.4], path=tmp_path / 'c.png')
    for name in ('filters.png', 'gray.png', 'c.png'):
        assert (tmp_path / name).read_bytes()[:4] == b'\x89PNG'


def test_bad_shapes_are_errors():
    with pytest.raises(ValueError, match="F, C, HH, WW"):
        plot_filters(np.zeros((3, 5, 5)))
    with pytest.raises(ValueError, match="N >= 1"):
        visualize_grid(np.zeros((0, 2, 2, 3)))


def test_vis_grid_places_images_with_gaps_and_rescales_them_together():
    images = np.stack([np.full((2, 3, 1), value) for value in (1.0, 2.0, 3.0, 5.0, 4.0)])
    grid = vis_grid(images)
    # 5 images -> A = 3; each 2x3 image followed by a 1-pixel gap: (3 * 3, 3 * 4, 1).
    assert grid.shape == (9, 12, 1)
    # Rescaled together: the smallest value of all (1, also the gaps) -> 0, largest -> 1.
    np.testing.assert_allclose(grid[0:2, 0:3], 0.0)          # image 0 (value 1)
    np.testing.assert_allclose(grid[0:2, 4:7], 0.25)         # image 1 (value 2)
    np.testing.assert_allclose(grid[3:5, 0:3], 1.0)          # image 3 (value 5), row 1
    np.testing.assert_allclose(grid[2, :], 0.0)              # gap row
    np.testing.assert_allclose(grid[3:5, 8:11], 0.0)         # empty cell of row 1
    assert grid.min() == 0.0 and grid.max() == 1.0


def test_vis_nn_lays_out_rows_of_images():
    rows = [[np.full((2, 2, 3), 0.0), np.full((2, 2, 3), 2.0)],
            [np.full((2, 2, 3), 4.0), np.full((2, 2, 3), 3.0)]]
    grid = vis_nn(rows)
    assert grid.shape == (2 * 3, 2 * 3, 3)
    np.testing.assert_allclose(grid[0:2, 3:5], 0.5)          # row 0, image 1 (value 2)
    np.testing.assert_allclose(grid[3:5, 0:2], 1.0)          # row 1, image 0 (value 4)
    np.testing.assert_allclose(grid[2, :], 0.25)             # gaps hold 1 before rescaling


def test_vis_nn_rejects_ragged_rows():
    with pytest.raises(ValueError, match="row 1 does not"):
        vis_nn([[np.zeros((2, 2, 1))] * 2, [np.zeros((2, 2, 1))]])
