"""Tests of the training command, python -m nndl.train, on the committed data sample."""
import re
import subprocess
import sys

import numpy as np
import pytest

from nndl import train
from nndl.cnn import ThreeLayerConvNet
from nndl.model_io import read_model_file
from nndl.models import LeNet5
from utils.data_utils import SAMPLE_DATA_DIR

FINAL_LINE = re.compile(r"val_acc=(\d\.\d{4}) test_acc=(\d\.\d{4}) seconds=(\d+)")
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


def test_command_line_run_on_the_mnist_sample(tmp_path):
    out_dir = tmp_path / 'out'
    result = subprocess.run(
        [sys.executable, '-m', 'nndl.train', 'mnist', '--data-dir', str(SAMPLE_DATA_DIR),
         '--epochs', '1', '--num-train', '300', '--seed', '1', '--out', str(out_dir)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    last_line = result.stdout.strip().splitlines()[-1]
    match = FINAL_LINE.fullmatch(last_line)
    assert match, last_line
    val_acc, test_acc = float(match[1]), float(match[2])

    checkpoint = out_dir / 'mnist_threelayer.npz'
    for png in ('mnist_threelayer_curves.png', 'mnist_threelayer_filters.png'):
        assert (out_dir / png).read_bytes()[:8] == PNG_SIGNATURE
    model = ThreeLayerConvNet.load(checkpoint)
    metadata = read_model_file(checkpoint)['metadata']
    assert (metadata['num_train'], metadata['num_val'], metadata['num_test']) == (300, 100, 500)
    assert round(metadata['val_acc'], 4) == val_acc
    # The saved model, fed the same preprocessed test set, gives the reported accuracy.
    data, input_scale = train.load_data('mnist', SAMPLE_DATA_DIR, num_train=300)
    assert input_scale == pytest.approx(metadata['input_scale'])
    predictions = model.loss(data['X_test']).argmax(axis=1)
    assert round(float(np.mean(predictions == data['y_test'])), 4) == test_acc
    # One epoch on 300 digits already beats chance by far.
    assert val_acc > 0.3


def test_lenet5_on_the_cifar_sample(tmp_path, capsys):
    train.main(['cifar10', '--model', 'lenet5', '--data-dir', str(SAMPLE_DATA_DIR),
                '--epochs', '1', '--num-train', '200', '--batch-size', '50', '--lr', '2e-3',
                '--out', str(tmp_path)])
    assert FINAL_LINE.fullmatch(capsys.readouterr().out.strip().splitlines()[-1])
    model = LeNet5.load(tmp_path / 'cifar10_lenet5.npz')
    assert model.params['0.weight'].shape == (6, 3, 5, 5)
    assert (tmp_path / 'cifar10_lenet5_filters.png').is_file()


def test_split_sizes():
    assert train.split_sizes('cifar10', 50000, 10000) == (49000, 1000, 1000)
    assert train.split_sizes('mnist', 60000, 10000) == (55000, 5000, 10000)
    assert train.split_sizes('mnist', 60000, 10000, num_train=2000) == (2000, 5000, 10000)
    # Smaller data (the committed sample): 10% of the training images for validation.
    assert train.split_sizes('cifar10', 500, 200) == (450, 50, 200)
    with pytest.raises(ValueError, match="too few"):
        train.split_sizes('mnist', 1, 10)


def test_reference_configs_cover_every_dataset_and_model():
    for dataset in train.STANDARD_SPLITS:
        for model in ('threelayer', 'lenet5'):
            config = train.reference_config(dataset, model, epochs=2, batch_size=7, lr=0.5)
            assert config['solver']['num_epochs'] == 2
            assert config['solver']['batch_size'] == 7
            assert config['solver']['optim_config']['learning_rate'] == 0.5
            assert config['augment'] in train.AUGMENTATIONS
    # Overrides work on a copy.
    assert train.REFERENCE_CONFIGS[('mnist', 'lenet5')]['solver']['batch_size'] != 7


@pytest.mark.parametrize('argv, message', [
    (['svhn'], 'invalid choice'),
    (['mnist', '--epochs', '0'], '--epochs must be a positive integer'),
    (['mnist', '--lr', '-1'], '--lr must be positive'),
])
def test_bad_arguments_exit_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit):
        train.parse_args(argv)
    assert message in capsys.readouterr().err


def test_missing_data_names_the_download_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m utils.download mnist"):
        train.main(['mnist', '--data-dir', str(tmp_path), '--out', str(tmp_path / 'out')])
