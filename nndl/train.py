"""Train the course's reference networks on CIFAR-10 or MNIST from the command line.

    python -m nndl.train {cifar10,mnist} [--model {threelayer,lenet5}] [--data-dir DIR]
                         [--epochs E] [--seed S] [--out DIR] [--batch-size B] [--lr LR]
                         [--num-train N]

The reference hyperparameters are in REFERENCE_CONFIGS below, one entry per
(dataset, model). The data are the standard splits (CIFAR-10: 49,000 train / 1,000 val
from the training batches, 1,000 test; MNIST: 55,000 train / 5,000 val from the 60,000
training images, 10,000 test), or proportionally smaller ones when the data directory
holds fewer images (e.g. ``--data-dir data_sample``). The images are centered by the
loaders (training mean image subtracted) and then divided by the standard deviation of the
training pixels, so the network sees inputs of unit scale.

Under --out (default runs/<dataset>_<model>) it writes
    <dataset>_<model>.npz          the trained model (load it with ThreeLayerConvNet.load
                                   or LeNet5.load); its metadata holds the accuracies, the
                                   histories, the input scale and the hyperparameters
    <dataset>_<model>_curves.png   training loss and train/val accuracy
    <dataset>_<model>_filters.png  the first-layer filters
and the last line it prints is

    val_acc=0.xxxx test_acc=0.xxxx seconds=N

(seconds: wall time of the whole run, loading included).
"""
import argparse
import copy
import os
import sys
import time
from pathlib import Path

# One BLAS thread unless the user sets another count. On a machine with other work on its
# cores (a shared server, a laptop running anything else), two OpenBLAS threads made a
# training step of these small networks 2-4x slower, in wall time and in CPU time
# (docs/results.md). The variables only take effect if NumPy is not loaded yet, i.e.
# under `python -m nndl.train`.
if 'numpy' not in sys.modules:
    for _variable in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        os.environ.setdefault(_variable, '1')

import numpy as np  # noqa: E402  (after the thread settings)

from nndl.augment import flip_and_crop, random_crop, random_flip
from nndl.cnn import ThreeLayerConvNet
from nndl.models import LeNet5
from utils.solver import Solver
from utils import data_utils
from utils.vis_utils import plot_filters, plot_training_curves

# Hyperparameters of the reference runs. 'model' goes to the model's constructor,
# 'solver' to the Solver, 'augment' names an entry of AUGMENTATIONS (or None).
REFERENCE_CONFIGS = {
    ('cifar10', 'threelayer'): {
        'model': {'num_filters': 32, 'filter_size': 5, 'hidden_dim': 256,
                  'weight_scale': 1e-2, 'reg': 1e-3, 'use_batchnorm': True},
        'solver': {'update_rule': 'adam', 'optim_config': {'learning_rate': 1e-3},
                   'lr_decay': 0.75, 'batch_size': 100, 'num_epochs': 8},
        'augment': 'flip',
    },
    ('cifar10', 'lenet5'): {
        'model': {'reg': 1e-4},
        'solver': {'update_rule': 'adam', 'optim_config': {'learning_rate': 1e-3},
                   'lr_decay': 0.9, 'batch_size': 100, 'num_epochs': 10},
        'augment': 'flip',
    },
    ('mnist', 'threelayer'): {
        'model': {'num_filters': 32, 'filter_size': 5, 'hidden_dim': 256,
                  'weight_scale': 1e-2, 'reg': 1e-4, 'use_batchnorm': True},
        'solver': {'update_rule': 'adam', 'optim_config': {'learning_rate': 1e-3},
                   'lr_decay': 0.5, 'batch_size': 100, 'num_epochs': 3},
        'augment': None,
    },
    ('mnist', 'lenet5'): {
        'model': {'reg': 1e-4},
        'solver': {'update_rule': 'adam', 'optim_config': {'learning_rate': 1e-3},
                   'lr_decay': 0.8, 'batch_size': 100, 'num_epochs': 12},
        'augment': 'shift',
    },
}


def small_shift(X, rng):
    """Shift each image by up to 2 pixels in each direction (random_crop with pad 2); for
    digits, which must not be mirrored. Returns shape (N, C, H, W)."""
    return random_crop(X, rng, pad=2)


AUGMENTATIONS = {None: None, 'flip': random_flip, 'flip_and_crop': flip_and_crop,
                 'shift': small_shift}

# (train, validation, test) sizes of the standard splits.
STANDARD_SPLITS = {'cifar10': (49000, 1000, 1000), 'mnist': (55000, 5000, 10000)}
INPUT_DIMS = {'cifar10': (3, 32, 32), 'mnist': (1, 28, 28)}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m nndl.train',
        description="Train a reference network on CIFAR-10 or MNIST.")
    parser.add_argument('dataset', choices=sorted(STANDARD_SPLITS))
    parser.add_argument('--model', choices=['threelayer', 'lenet5'], default='threelayer')
    parser.add_argument('--data-dir', default=None,
                        help="folder holding cifar-10-batches-py/ or mnist/ "
                             f"(default: ${data_utils.DATA_DIR_ENV_VAR}, else the places "
                             "utils.data_utils.data_search_dirs lists)")
    parser.add_argument('--epochs', type=int, default=None,
                        help="number of epochs (default: the reference configuration's)")
    parser.add_argument('--seed', type=int, default=0,
                        help="seed of the weights, the shuffling and the augmentation")
    parser.add_argument('--out', default=None,
                        help="output folder (default: runs/<dataset>_<model>)")
    parser.add_argument('--batch-size', type=int, default=None)
    parser.add_argument('--lr', type=float, default=None, help="initial learning rate")
    parser.add_argument('--num-train', type=int, default=None,
                        help="use only the first N training images")
    args = parser.parse_args(argv)
    for name in ('epochs', 'batch_size', 'num_train'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer, got {value}")
    if args.lr is not None and not args.lr > 0:
        parser.error(f"--lr must be positive, got {args.lr}")
    return args


def split_sizes(dataset, num_train_available, num_test_available, num_train=None):
    """(train, val, test) sizes: the standard split, shrunk to fit smaller data.

    If the standard split does not fit, 10% of the available training images (at least
    one) become the validation set and the rest the training set; the test set is all
    test images up to the standard size. num_train, if given, caps the training set.
    """
    train, val, test = STANDARD_SPLITS[dataset]
    if train + val > num_train_available:
        val = max(1, num_train_available // 10)
        train = num_train_available - val
    if train < 1:
        raise ValueError(f"{dataset}: only {num_train_available} training images, too few "
                         f"for a training and a validation set")
    if num_train is not None:
        train = min(train, num_train)
    return train, val, min(test, num_test_available)


def load_data(dataset, data_dir=None, num_train=None):
    """The train/val/test dict for dataset, float32, centered and scaled to unit std.

    Returns (data, input_scale): data has X_train, y_train, X_val, y_val, X_test, y_test;
    input_scale is the number the centered images were divided by.
    """
    if dataset == 'cifar10':
        counting_loader, get_data = data_utils.load_CIFAR10, data_utils.get_CIFAR10_data
        folder = data_utils.find_dataset(data_utils.CIFAR10_DIRNAME, 'cifar10', data_dir)
    else:
        counting_loader, get_data = data_utils.load_MNIST, data_utils.get_MNIST_data
        folder = data_utils.find_dataset(data_utils.MNIST_DIRNAME, 'mnist', data_dir)
    root = folder.parent
    X_train, _, X_test, _ = counting_loader(folder, dtype=np.uint8)
    train, val, test = split_sizes(dataset, len(X_train), len(X_test), num_train)
    data = get_data(num_training=train, num_validation=val, num_test=test, data_dir=root,
                    dtype=np.float32)
    input_scale = float(data['X_train'].std())
    for key in ('X_train', 'X_val', 'X_test'):
        data[key] /= input_scale
    return data, input_scale


def reference_config(dataset, model_name, epochs=None, batch_size=None, lr=None):
    """A copy of REFERENCE_CONFIGS[(dataset, model_name)] with the given overrides."""
    config = copy.deepcopy(REFERENCE_CONFIGS[(dataset, model_name)])
    if epochs is not None:
        config['solver']['num_epochs'] = epochs
    if batch_size is not None:
        config['solver']['batch_size'] = batch_size
    if lr is not None:
        config['solver']['optim_config']['learning_rate'] = lr
    return config


def build_model(dataset, model_name, model_config, seed):
    """The model for dataset: ThreeLayerConvNet or LeNet5, float32."""
    channels, height, width = INPUT_DIMS[dataset]
    if model_name == 'threelayer':
        return ThreeLayerConvNet(input_dim=(channels, height, width), dtype=np.float32,
                                 seed=seed, **model_config)
    return LeNet5(in_channels=channels, input_size=(height, width), dtype=np.float32,
                  seed=seed, **model_config)


def first_layer_filters(model):
    """The weights of the model's first convolution, shape (F, C, HH, WW)."""
    return model.params['W1'] if 'W1' in model.params else model.params['0.weight']


def main(argv=None):
    started = time.perf_counter()
    args = parse_args(argv)
    name = f"{args.dataset}_{args.model}"
    out_dir = Path(args.out) if args.out is not None else Path('runs') / name
    config = reference_config(args.dataset, args.model, args.epochs, args.batch_size, args.lr)

    data, input_scale = load_data(args.dataset, args.data_dir, args.num_train)
    model = build_model(args.dataset, args.model, config['model'], args.seed)
    solver = Solver(model, data, **config['solver'], seed=args.seed,
                    augment=AUGMENTATIONS[config['augment']], print_every=0, verbose=True)
    solver.train()

    val_acc = solver.check_accuracy(data['X_val'], data['y_val'])
    test_acc = solver.check_accuracy(data['X_test'], data['y_test'])
    seconds = time.perf_counter() - started
    metadata = {
        'dataset': args.dataset, 'model': args.model, 'seed': args.seed,
        'hyperparameters': config, 'input_scale': input_scale,
        'preprocessing': "X = (images - mean training image) / input_scale",
        'num_train': len(data['X_train']), 'num_val': len(data['X_val']),
        'num_test': len(data['X_test']),
        'val_acc': val_acc, 'test_acc': test_acc, 'seconds': seconds,
        'loss_history': solver.loss_history,
        'train_acc_history': solver.train_acc_history,
        'val_acc_history': solver.val_acc_history,
    }
    checkpoint = model.save(out_dir / f"{name}.npz", metadata=metadata)
    plot_training_curves(solver.loss_history, solver.train_acc_history,
                         solver.val_acc_history, path=out_dir / f"{name}_curves.png")
    plot_filters(first_layer_filters(model), path=out_dir / f"{name}_filters.png",
                 title=f"{name}: first-layer filters")
    print(f"Saved {checkpoint} and the plots in {out_dir}", file=sys.stderr)
    print(f"val_acc={val_acc:.4f} test_acc={test_acc:.4f} "
          f"seconds={round(time.perf_counter() - started)}")


if __name__ == '__main__':
    main()
