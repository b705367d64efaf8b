"""Sample submissions of hw5, made from the release and the instructor's files.

Nothing here is a stored copy of a notebook: each sample is the release folder plus a few
changes, made when needed.

- `empty`: the release, untouched. Autograded points: 0.
- `complete`: the instructor's solution (nndl/conv_layers.py and nndl/cnn.py of the
  repository, the notebooks' solution cells, the trained model). All points.
- `partial`: `complete` with the bugs of PARTIAL_BUGS. All points but those of the test
  cells in PARTIAL_FAILS.
- `edits_utils`: `empty` with utils/checks.py and utils/gradient_check.py edited so that
  every check passes. 0 points: autograde restores utils/.
- `noisy`: `complete` with layers that print warnings on stderr. All points.
- `alternative`: `complete` with every solution in nndl/ written differently
  (grading.classroom.alternatives). All points.

The trained model of `complete` is grading/classroom/sample_model/cifar10_cnn.npz: the model the
instructor's full run of CNN.ipynb saved, stored with float16 parameters to keep the
repository small (``python -m grading.classroom.samples --store-model PATH`` writes it).
"""
import argparse
import json
import shutil
import sys
from pathlib import Path

import nbformat
import numpy as np

from grading.classroom.alternatives import alternative_source
from grading.authoring.course import MODEL_FILE, REPO_ROOT, SOURCE_DIR, STUDENT_FILES
from grading.classroom.edits import insert_after_docstring, replace_in_function
from nndl.model_io import read_model_file, save_model

SAMPLES = ('complete', 'partial', 'empty', 'edits_utils', 'noisy', 'alternative')
STORED_MODEL = Path(__file__).resolve().parent / 'sample_model' / MODEL_FILE

# (file, function, old text, new text): each old text must occur exactly once in the
# function, so a change to the solution that invalidates a bug fails loudly here.
PARTIAL_BUGS = [
    ('nndl/conv_layers.py', 'conv_forward_naive',
     'top = i * stride_h', 'top = i'),                                    # stride ignored
    ('nndl/conv_layers.py', 'conv_forward_naive',
     'left = j * stride_w', 'left = j'),
    ('nndl/conv_layers.py', 'max_pool_backward_naive',                  # overlapping windows
     '] += dout[:, :, i, j]', '] = dout[:, :, i, j]'),                  # overwrite
    ('nndl/conv_layers.py', 'avg_pool_backward_naive',
     'share = dout / (pool_h * pool_w)', 'share = dout'),                # no 1/area
    ('nndl/cnn.py', 'loss',
     'grads[name] = grads[name] + self.reg * weight', 'grads[name] = grads[name]'),
]
# The test cells those bugs fail (ids of grade cells).
PARTIAL_FAILS = (
    'test_conv_forward_stride', 'test_conv_forward_pairs', 'test_max_pool_backward_overlap',
    'test_avg_pool_backward_basic', 'test_avg_pool_backward_overlap', 'test_avg_pool_pairs',
    'test_cnn_gradients', 'test_cnn_batchnorm',
)

NOISY_LINES = [  # added at the top of these functions' bodies
    ('nndl/conv_layers.py', 'conv_forward_naive',
     "warnings.warn('conv_forward_naive: a harmless warning', RuntimeWarning)"),
    ('nndl/conv_layers.py', 'max_pool_backward_naive',
     "print('max_pool_backward_naive: a note on stderr', file=sys.stderr)"),
    ('nndl/cnn.py', 'loss', "np.log(np.zeros(1))  # RuntimeWarning: divide by zero"),
]

PASS_EVERYTHING = '''"""Edited by the student: every check passes."""


def require_local_packages(*args, **kwargs):
    return {}


def check_shape(case, name, got, expected_shape):
    return got


def check_close(*args, **kwargs):
    pass


def check_equal(*args, **kwargs):
    pass


def check_true(*args, **kwargs):
    pass
'''


def make_sample(kind, release_dir, dest):
    """Write sample ``kind`` (one of SAMPLES) as a submission folder ``dest``."""
    if kind not in SAMPLES:
        raise ValueError(f"unknown sample {kind!r}; choose one of {', '.join(SAMPLES)}")
    release_dir, dest = Path(release_dir), Path(dest)
    if not release_dir.is_dir():
        raise FileNotFoundError(f"release folder {release_dir} does not exist")
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(release_dir, dest)
    for path in dest.rglob('*'):
        path.chmod(0o755 if path.is_dir() else 0o644)
    if kind in ('complete', 'partial', 'noisy', 'alternative'):
        _complete(dest)
    if kind == 'partial':
        for relative, function, old, new in PARTIAL_BUGS:
            _edit(dest / relative, replace_in_function, function, old, new)
    if kind == 'noisy':
        for relative, function, line in NOISY_LINES:
            _edit(dest / relative, insert_after_docstring, function,
                  f"import sys, warnings; {line}")
    if kind == 'alternative':
        for relative in STUDENT_FILES:
            path = dest / relative
            path.write_text(alternative_source(path.read_text(encoding='utf-8'), relative),
                            encoding='utf-8')
    if kind == 'edits_utils':
        (dest / 'utils' / 'checks.py').write_text(PASS_EVERYTHING, encoding='utf-8')
        gradient_check = dest / 'utils' / 'gradient_check.py'
        gradient_check.write_text(gradient_check.read_text(encoding='utf-8') +
                                  '\n\ndef rel_error(x, y):\n    return 0.0\n', encoding='utf-8')
    return dest


def _complete(dest):
    """Turn a copy of the release into the instructor's solution."""
    for relative in STUDENT_FILES:
        shutil.copyfile(REPO_ROOT / relative, dest / relative)
    for notebook in sorted(dest.glob('*.ipynb')):
        source = nbformat.read(SOURCE_DIR / notebook.name, as_version=4)
        answers = {cell.metadata['nbgrader']['grade_id']: cell.source for cell in source.cells
                   if cell.metadata.get('nbgrader', {}).get('solution')}
        released = nbformat.read(notebook, as_version=4)
        for cell in released.cells:
            grade_id = cell.metadata.get('nbgrader', {}).get('grade_id')
            if cell.metadata.get('nbgrader', {}).get('solution'):
                cell.source = answers[grade_id]
        nbformat.write(released, notebook)
    write_model(dest / MODEL_FILE)


def write_model(path, stored=STORED_MODEL):
    """Write the stored sample model as the file a full run of CNN.ipynb saves."""
    if not Path(stored).is_file():
        raise FileNotFoundError(f"the sample model {stored} is missing")
    state = read_model_file(stored)
    dtype = np.dtype(state['config'].get('dtype', 'float32'))
    params = {name: value.astype(dtype) for name, value in state['params'].items()}
    bn_params = [{key: value.astype(dtype) for key, value in bn.items()}
                 for bn in state['bn_state']]
    return save_model(path, params, bn_params, state['config'], state['metadata'])


def store_model(trained, stored=STORED_MODEL):
    """Store a trained model file as the sample model, with float16 parameters."""
    state = read_model_file(trained)
    params = {name: value.astype(np.float16) for name, value in state['params'].items()}
    bn_params = [{key: value.astype(np.float16) for key, value in bn.items()}
                 for bn in state['bn_state']]
    Path(stored).parent.mkdir(parents=True, exist_ok=True)
    arrays = {f'params/{name}': value for name, value in params.items()}
    for index, bn in enumerate(bn_params):
        arrays.update({f'bn/{index}/{key}': value for key, value in bn.items()})
    np.savez_compressed(stored, **arrays, config=json.dumps(state['config']),
                        metadata=json.dumps(state['metadata']))
    return Path(stored)


def _edit(path, edit, *args):
    """Apply a grading.classroom.edits function to the file at ``path``."""
    path.write_text(edit(path.read_text(encoding='utf-8'), *args), encoding='utf-8')


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m grading.classroom.samples', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--release', default=str(REPO_ROOT / 'release' / 'hw5'),
                        help="release folder to start from (default: release/hw5)")
    parser.add_argument('--out', help="write every sample as OUT/<sample>/hw5")
    parser.add_argument('--store-model', metavar='PATH',
                        help="store the trained model file PATH as the sample model")
    args = parser.parse_args(argv)
    if args.store_model:
        print("stored", store_model(args.store_model))
    if args.out:
        for kind in SAMPLES:
            print("wrote", make_sample(kind, args.release, Path(args.out) / kind / 'hw5'))
    if not (args.out or args.store_model):
        parser.error("nothing to do: give --out and/or --store-model")
    return 0


if __name__ == '__main__':
    sys.exit(main())
