"""Saving trained models to .npz files and reading them back.

One format serves the models' ``save``/``load`` and the Solver's checkpoints:

- ``params/<name>``: each parameter array, under its name in ``model.params``;
- ``bn/<i>/running_mean``, ``bn/<i>/running_var``: the running averages of the i-th
  batchnorm layer (``model.bn_params[i]``);
- ``config``: JSON text, the arguments that rebuild the model (may be empty);
- ``metadata``: JSON text, anything else worth keeping (accuracies, histories, ...).

The files hold plain arrays and text, so loading them never runs code (no pickle).
"""
import json
from pathlib import Path

import numpy as np

BN_STATE_KEYS = ('running_mean', 'running_var')


def save_model(path, params, bn_params=(), config=None, metadata=None):
    """Write a model file (format above) and return its Path.

    Inputs:
    - path: file name; '.npz' is appended if missing. Parent folders are created.
    - params: mapping from parameter name to array.
    - bn_params: sequence of batchnorm parameter dicts (running averages are saved).
    - config, metadata: JSON-serializable dicts (or None).
    """
    path = Path(path)
    if path.suffix != '.npz':
        path = path.with_name(path.name + '.npz')
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f'params/{name}': np.asarray(value) for name, value in params.items()}
    for index, bn_param in enumerate(bn_params or ()):
        for key in BN_STATE_KEYS:
            if key in bn_param:
                arrays[f'bn/{index}/{key}'] = np.asarray(bn_param[key])
    np.savez(path, **arrays, config=json.dumps(config or {}),
             metadata=json.dumps(metadata or {}))
    return path


def read_model_file(path):
    """Read a model file written by save_model.

    Returns a dict with 'params' (name -> array), 'bn_state' (list of dicts with the
    running averages, in batchnorm-layer order), 'config' and 'metadata' (dicts).
    Raises FileNotFoundError if the file is missing and ValueError if it is not a model file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ValueError(f"{path} is not a readable .npz model file ({err})") from err
    with archive:
        if 'config' not in archive.files or 'metadata' not in archive.files:
            raise ValueError(f"{path} is not a model file: it lacks the 'config' and "
                             f"'metadata' entries (found {sorted(archive.files)[:6]})")
        params = {key[len('params/'):]: archive[key] for key in archive.files
                  if key.startswith('params/')}
        bn_state = {}
        for key in archive.files:
            if key.startswith('bn/'):
                _, index, name = key.split('/')
                bn_state.setdefault(int(index), {})[name] = archive[key]
        return {
            'params': params,
            'bn_state': [bn_state[index] for index in sorted(bn_state)],
            'config': json.loads(str(archive['config'])),
            'metadata': json.loads(str(archive['metadata'])),
        }


def assign_state(model, state, source='the file'):
    """Copy saved parameters and running averages into ``model``, in place.

    The saved parameters must have exactly the names and shapes of model.params;
    otherwise ValueError says which differ. Values are cast to each parameter's dtype.
    """
    saved, current = state['params'], model.params
    if set(saved) != set(current):
        raise ValueError(f"{source} has parameters {sorted(saved)} but the model has "
                         f"{sorted(current)}")
    for name, value in saved.items():
        if value.shape != np.shape(current[name]):
            raise ValueError(f"{source}: parameter {name!r} has shape {value.shape}, the "
                             f"model expects {np.shape(current[name])}")
    for name, value in saved.items():
        current[name] = value.astype(np.asarray(current[name]).dtype)
    bn_params = getattr(model, 'bn_params', None) or []
    if len(state['bn_state']) != len(bn_params):
        raise ValueError(f"{source} has running averages for {len(state['bn_state'])} "
                         f"batchnorm layers, the model has {len(bn_params)}")
    for bn_param, saved_bn in zip(bn_params, state['bn_state']):
        bn_param.update({key: value.copy() for key, value in saved_bn.items()})
