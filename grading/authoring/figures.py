"""The diagrams of the hw5 notebooks, drawn with matplotlib into grading/authoring/figures/*.png.

    python -m grading.authoring.figures          # redraw every figure
    python -m grading.authoring.figures NAME...  # redraw some (names without .png)

The PNG files are committed. `python -m grading.authoring.build_source` embeds them in the markdown
cells of source/hw5 as cell attachments (`![...](attachment:NAME.png)`), so the figures
travel inside the notebooks: nbgrader copies markdown cells into the release unchanged,
and neither the release nor the feedback needs an image folder. Redraw after changing a
drawing, then rebuild the notebooks. Everything drawn is fixed (seeded where random), so
redrawing with the same matplotlib gives the same pictures.
"""
import argparse
import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

FIGURE_DIR = Path(__file__).resolve().parent / 'figures'

PAD_COLOR, CELL_COLOR, EDGE = '#d9d9d9', 'white', '#555555'
FIRST, SECOND = 'tab:red', 'tab:blue'     # the window at two consecutive positions


def _grid(ax, left, bottom, rows, cols, values=None, colors=None, fontsize=8, edge=EDGE):
    """Draw a rows x cols grid of unit cells whose lower-left corner is (left, bottom);
    row 0 on top. ``values``: text per cell (or None); ``colors``: fill per cell."""
    for r in range(rows):
        for c in range(cols):
            color = CELL_COLOR if colors is None else colors[r][c]
            ax.add_patch(Rectangle((left + c, bottom + rows - 1 - r), 1, 1, facecolor=color,
                                   edgecolor=edge, linewidth=0.8))
            if values is not None and values[r][c] is not None:
                ax.text(left + c + 0.5, bottom + rows - 0.5 - r, values[r][c], ha='center',
                        va='center', fontsize=fontsize)


def _window(ax, left, bottom, rows, row, col, height, width, color, style='-'):
    """Outline the height x width window at (row, col) of a grid drawn by _grid."""
    ax.add_patch(Rectangle((left + col, bottom + rows - row - height), width, height,
                           fill=False, edgecolor=color, linewidth=2.6, linestyle=style))


def _arrow(ax, start, end, text=None, offset=0.4):
    """An arrow; ``text`` above it (offset > 0) or below it (offset < 0)."""
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle='-|>', mutation_scale=14,
                                 color='black', linewidth=1.2))
    if text:
        ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + offset, text,
                ha='center', va='bottom' if offset > 0 else 'top', fontsize=9)


def _canvas(width, height, xlim, ylim):
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect('equal')
    ax.axis('off')
    return fig, ax


def conv_forward():
    """A 3-channel 5x5 input padded by 1, a 3x3x3 filter at stride 2, the 3x3 output."""
    fig, ax = _canvas(10, 4.2, (-1.5, 27.5), (-2.6, 10.4))
    size, pad, kernel, stride = 5, 1, 3, 2
    full = size + 2 * pad
    colors = [[PAD_COLOR if min(r, c) < pad or max(r, c) >= size + pad else CELL_COLOR
               for c in range(full)] for r in range(full)]
    for channel in (2, 1, 0):       # back to front
        shift = 0.7 * channel
        _grid(ax, shift, shift, full, full, colors=colors)
        ax.text(shift + full + 0.15, shift + full - 0.2, f'c = {channel}', fontsize=8,
                va='bottom')
    values = [['0' if colors[r][c] == PAD_COLOR else f'x{r - pad}{c - pad}'
               for c in range(full)] for r in range(full)]
    _grid(ax, 0, 0, full, full, values=values, colors=colors, fontsize=6.5)
    _window(ax, 0, 0, full, 0, 0, kernel, kernel, FIRST)
    _window(ax, 0, 0, full, 0, stride, kernel, kernel, SECOND, '--')
    ax.text(full / 2 + 0.7, -1.2, f'x padded: C = 3 channels of {size}x{size}, P = {pad}',
            ha='center', fontsize=9)

    left = 11.0
    for channel in (2, 1, 0):
        shift = 0.7 * channel
        _grid(ax, left + shift, 2 + shift, kernel, kernel,
              colors=[['#fde0dd'] * kernel] * kernel)
    _grid(ax, left, 2, kernel, kernel, values=[[f'w{r}{c}' for c in range(kernel)]
                                                for r in range(kernel)],
          colors=[['#fde0dd'] * kernel] * kernel, fontsize=7)
    ax.text(left + 2.1, 0.6, 'filter w[f]: C x 3 x 3\n+ bias b[f]', ha='center', fontsize=9)
    ax.text(5.5, 9.9, f'stride S = {stride}: the window moves {stride} columns',
            ha='left', fontsize=9)

    out = (full - kernel) // stride + 1
    left_out = 20.5
    out_colors = [[CELL_COLOR] * out for _ in range(out)]
    out_colors[0][0], out_colors[0][1] = '#f4a6a6', '#a6c8f4'
    _grid(ax, left_out, 2.5, out, out, values=[[f'o{r}{c}' for c in range(out)]
                                                for r in range(out)],
          colors=out_colors, fontsize=8)
    ax.text(left_out + 1.5, 0.6, f'out[n, f]: {out}x{out}\n(7 - 3) // 2 + 1 = {out}',
            ha='center', fontsize=9)
    _arrow(ax, (8.8, 4.5), (10.6, 4.5))
    _arrow(ax, (15.6, 4.5), (20.2, 4.5), 'sum over c, i, j\nof w * window, + b', 0.3)
    return fig


def conv_backward():
    """dx as a full convolution: dout dilated by the stride, padded by K - 1, correlated
    with the filter rotated by 180 degrees (one channel, K = 3, stride 2)."""
    fig, ax = _canvas(11, 3.9, (-0.8, 31.2), (-2.9, 8.4))
    ax.text(0, 7.6, 'dout (2x2)', fontsize=9)
    _grid(ax, 0, 2.5, 2, 2, values=[['a', 'b'], ['c', 'd']],
          colors=[['#fff2cc'] * 2] * 2, fontsize=10)
    _arrow(ax, (2.4, 3.5), (4.0, 3.5), 'dilate by\nS = 2', -0.3)
    ax.text(4.3, 7.6, 'dilated (3x3):\nS - 1 zeros\nbetween', fontsize=9, va='top')
    _grid(ax, 4.3, 2, 3, 3, values=[['a', '0', 'b'], ['0', '0', '0'], ['c', '0', 'd']],
          colors=[['#fff2cc', CELL_COLOR, '#fff2cc'], [CELL_COLOR] * 3,
                  ['#fff2cc', CELL_COLOR, '#fff2cc']], fontsize=10)
    _arrow(ax, (7.7, 3.5), (9.5, 3.5), 'pad by\nK - 1 = 2', -0.3)
    full = 7
    values = [[None] * full for _ in range(full)]
    colors = [[PAD_COLOR] * full for _ in range(full)]
    for r, c, v in [(2, 2, 'a'), (2, 4, 'b'), (4, 2, 'c'), (4, 4, 'd')]:
        values[r][c], colors[r][c] = v, '#fff2cc'
    for r in range(2, 5):
        for c in range(2, 5):
            if values[r][c] is None:
                values[r][c], colors[r][c] = '0', CELL_COLOR
    ax.text(9.8, 7.6, 'padded (7x7), rot180(w) slides', fontsize=9)
    _grid(ax, 9.8, 0, full, full, values=values, colors=colors, fontsize=9)
    _window(ax, 9.8, 0, full, 0, 0, 3, 3, FIRST)
    _window(ax, 9.8, 0, full, 0, 1, 3, 3, SECOND, '--')
    _arrow(ax, (17.2, 3.5), (18.6, 3.5))
    ax.text(18.8, 7.6, 'rot180(w)', fontsize=9)
    _grid(ax, 18.8, 2, 3, 3, values=[[f'w{2 - r}{2 - c}' for c in range(3)]
                                      for r in range(3)],
          colors=[['#fde0dd'] * 3] * 3, fontsize=7)
    _arrow(ax, (22.2, 3.5), (23.6, 3.5), 'stride\n1', -0.3)
    ax.text(23.9, 7.6, 'dx (5x5)', fontsize=9)
    dx_colors = [[CELL_COLOR] * 5 for _ in range(5)]
    dx_colors[0][0], dx_colors[0][1] = '#f4a6a6', '#a6c8f4'
    _grid(ax, 23.9, 1, 5, 5, values=[['a w00', 'a w01', None, None, None]] +
          [[None] * 5] * 4, colors=dx_colors, fontsize=6.5)
    ax.text(15.2, -1.3, 'dx[i, j] = sum of dout * rot180(w) over the window '
            '(x00 is touched only by the filter at output a, through w00)',
            ha='center', fontsize=9)
    ax.text(15.2, -2.5, 'dw = correlation of the padded x with dout (dilated likewise);  '
            'db = sum of dout over n, i, j', ha='center', fontsize=9)
    return fig


def max_pool_ties():
    """One 2x2 window whose maximum appears twice, and three ways to route its gradient."""
    fig, ax = _canvas(10, 2.9, (-1.5, 25.5), (-2.4, 4.6))
    window = [['3', '1'], ['3', '0']]   # the first panel's title is the widest
    panels = [('x: a 2x2 window,\nmaximum 3 twice', window, None),
              ('mask x == max\n(sum 2: too much)', [['1', '0'], ['1', '0']], 'tab:red'),
              ('argmax, first maximum\n(the convention)', [['1', '0'], ['0', '0']],
               'tab:green'),
              ('numeric gradient\n(splits it)', [['0.5', '0'], ['0.5', '0']], 'tab:blue')]
    for index, (title, values, color) in enumerate(panels):
        left = 6.6 * index
        fill = [['#fff2cc' if v not in ('0', '1') or color is None else
                 ('#e6e6e6' if v == '0' else '#fff2cc') for v in row] for row in values]
        _grid(ax, left + 1, 0.5, 2, 2, values=values, colors=fill, fontsize=11)
        ax.text(left + 2, 3.1, title, ha='center', va='bottom', fontsize=9,
                color=color or 'black')
    ax.text(12.5, -1.6, 'gradient of out = max(window) with dout = 1; the max is not '
            'differentiable at a tie', ha='center', fontsize=9)
    return fig


def spatial_batchnorm_reshape():
    """(N, C, H, W) -> (N*H*W, C): every channel becomes one column."""
    fig, ax = _canvas(10, 4.4, (-0.6, 26.5), (-2.8, 10.6))
    palette = ['#f4a6a6', '#b7e1a1', '#a6c8f4']
    N, C, H, W = 2, 3, 2, 2
    for n in range(N):
        for c in range(C):
            left, bottom = 3.0 * c, 5.2 - 4.6 * n
            _grid(ax, left, bottom, H, W,
                  values=[[f'{n}{h}{w}' for w in range(W)] for h in range(H)],
                  colors=[[palette[c]] * W] * H, fontsize=7)
            if n == 0:
                ax.text(left + 1, bottom + 2.5, f'c = {c}', ha='center', fontsize=9)
        ax.text(-0.4, 6.2 - 4.6 * n, f'n = {n}', ha='right', va='center', fontsize=9,
                rotation=90)
    ax.text(4.0, -2.2, 'x: (N, C, H, W) = (2, 3, 2, 2)\ncell label: n h w', ha='center',
            fontsize=9)
    _arrow(ax, (8.8, 4.3), (14.0, 4.3), 'x.transpose(0, 2, 3, 1)\n.reshape(-1, C)', 0.3)
    rows = N * H * W
    values = [[f'{n}{h}{w}' for _ in range(C)] for n in range(N) for h in range(H)
              for w in range(W)]
    _grid(ax, 15.5, 0, rows, C, values=values, colors=[palette] * rows, fontsize=7)
    ax.text(17.0, 8.5, 'c = 0  1  2', ha='center', fontsize=9)
    ax.text(21.4, 5.6, 'one column per channel:\nN*H*W = 8 values each.\n\n'
            'batchnorm_forward takes\nmean and variance per\ncolumn, i.e. over n, h, w;\n'
            'reshape back and\ntranspose(0, 3, 1, 2).', va='top', fontsize=9)
    ax.text(17.0, -1.4, '(N*H*W, C) = (8, 3)', ha='center', fontsize=9)
    return fig


def batchnorm_momentum():
    """Running averages with the course's momentum 0.9 against the batch means."""
    rng = np.random.default_rng(0)
    steps, true_mean = 60, 2.0
    batch_means = true_mean + 0.5 * rng.standard_normal(steps)
    fig = Figure(figsize=(8, 3.2))
    ax = fig.add_subplot()
    ax.plot(np.arange(1, steps + 1), batch_means, '.', color='gray', label='batch mean')
    for momentum, color in ((0.9, 'tab:red'), (0.5, 'tab:blue')):
        running, history = 0.0, []
        for mean in batch_means:
            running = momentum * running + (1 - momentum) * mean
            history.append(running)
        ax.plot(np.arange(1, steps + 1), history, color=color,
                label=f'running_mean, momentum = {momentum}'
                + (' (PyTorch: momentum=0.1)' if momentum == 0.9 else ''))
    ax.axhline(true_mean, color='black', linewidth=0.8, linestyle=':')
    ax.set(xlabel='training step', ylabel='mean of one channel',
           title='running = momentum * running + (1 - momentum) * batch   (from 0)')
    ax.legend(loc='lower right', fontsize=8)
    fig.tight_layout()
    return fig


# Measured, not drawn: CNN.ipynb's own runs (docs/results.md, 2026-11-30). The overfitting
# run of section 5 (50 images, 15 epochs) and the full run of the solution (10 epochs).
OVERFIT_TRAIN = (0.30, 0.36, 0.48, 0.78, 0.88, 0.90, 0.96, 1.0, 0.96, 0.98, 1.0, 1.0, 1.0,
                 1.0, 1.0, 1.0)
OVERFIT_VAL = (0.14, 0.10, 0.12, 0.18, 0.15, 0.17, 0.16, 0.16, 0.20, 0.18, 0.16, 0.16, 0.16,
               0.16, 0.16, 0.16)
FULL_TRAIN = (0.122, 0.546, 0.587, 0.652, 0.685, 0.700, 0.727, 0.725, 0.720, 0.759, 0.724)
FULL_VAL = (0.113, 0.524, 0.615, 0.630, 0.629, 0.661, 0.677, 0.677, 0.677, 0.686, 0.685)


def reading_curves():
    """How to read training curves: the loss under three learning rates (a sketch), and the
    accuracies of the overfitting run against a full run (measured)."""
    rng = np.random.default_rng(0)
    steps = np.arange(0, 1000, 5)
    fig = Figure(figsize=(10, 3.3))
    loss, overfit, full = fig.subplots(1, 3)
    for label, curve, color in [
            ('too small: slow, nearly straight', 2.3 - 0.0006 * steps, 'tab:blue'),
            ('good: steep, then slower', 1.0 + 1.3 * np.exp(-steps / 120), 'tab:green'),
            ('too large: falls, then stalls high', 1.9 + 0.4 * np.exp(-steps / 15), 'tab:red')]:
        noise = 0.08 * rng.standard_normal(len(steps))
        loss.plot(steps, curve + noise, color=color, linewidth=0.9, label=label)
    loss.set(xlabel='iteration', ylabel='training loss', ylim=(0.6, 2.6),
             title='the learning rate (sketch)')
    loss.legend(fontsize=7, loc='lower left')
    for ax, (train, val), title in [(overfit, (OVERFIT_TRAIN, OVERFIT_VAL), 'overfitting 50 images'),
                                    (full, (FULL_TRAIN, FULL_VAL), 'full run of the solution')]:
        ax.plot(range(len(train)), train, 'o-', markersize=3, label='train')
        ax.plot(range(len(val)), val, 'o-', markersize=3, label='validation')
        ax.set(xlabel='epoch', ylabel='accuracy', ylim=(0, 1.05), title=title)
        ax.legend(fontsize=7, loc='center right')
    fig.tight_layout()
    return fig


def three_layer_net():
    """The shapes through ThreeLayerConvNet on a CIFAR-10 image (F filters of K x K)."""
    fig, ax = _canvas(11, 2.4, (-0.5, 44.5), (-3.3, 6.3))
    stages = [('x', '3 x 32 x 32', '#e6e6e6'), ('conv', 'F x 32 x 32\n(pad (K-1)/2)', '#fde0dd'),
              ('[spatial bn]', 'F x 32 x 32', '#fff2cc'), ('relu', 'F x 32 x 32', '#e6e6e6'),
              ('2x2 max pool', 'F x 16 x 16', '#a6c8f4'),
              ('affine + relu', 'hidden', '#b7e1a1'), ('affine', '10 scores', '#b7e1a1'),
              ('softmax loss', '', '#e6e6e6')]
    for index, (name, shape, color) in enumerate(stages):
        left = 5.6 * index
        ax.add_patch(Rectangle((left, 1), 4.4, 3, facecolor=color, edgecolor=EDGE))
        ax.text(left + 2.2, 2.5, name, ha='center', va='center', fontsize=9)
        ax.text(left + 2.2, 0.4, shape, ha='center', va='top', fontsize=8)
        if index:
            _arrow(ax, (left - 1.2, 2.5), (left, 2.5))
    ax.text(22, 5.2, 'W1: (F, 3, K, K)   W2: (F * 16 * 16, hidden)   W3: (hidden, 10)',
            ha='center', fontsize=9)
    return fig


FIGURES = {
    'conv_forward': conv_forward,
    'conv_backward': conv_backward,
    'max_pool_ties': max_pool_ties,
    'spatial_batchnorm_reshape': spatial_batchnorm_reshape,
    'batchnorm_momentum': batchnorm_momentum,
    'three_layer_net': three_layer_net,
    'reading_curves': reading_curves,
}


def figure_path(name):
    """The committed PNG of figure ``name``."""
    if name not in FIGURES:
        raise KeyError(f"unknown figure {name!r}; the figures are {sorted(FIGURES)}")
    return FIGURE_DIR / f'{name}.png'


def draw(names=None, directory=FIGURE_DIR):
    """Redraw the figures ``names`` (default: all) as directory/NAME.png; return the paths."""
    directory = Path(directory)
    paths = []
    directory.mkdir(parents=True, exist_ok=True)
    for name in names or FIGURES:
        path = directory / figure_path(name).name
        # No 'Software' entry: the file does not change with the matplotlib version string.
        FIGURES[name]().savefig(path, dpi=100, metadata={'Software': None})
        paths.append(path)
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m grading.authoring.figures', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('names', nargs='*', help=f"figures to draw (default all: "
                                                  f"{', '.join(FIGURES)})")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(FIGURES))
    if unknown:
        parser.error(f"unknown figures {unknown}; choose from {sorted(FIGURES)}")
    for path in draw(args.names):
        print(f"wrote {path}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
