import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from rgl.datasets import CIFAR10Dataset, ImageFolderDataset
from rgl.utils import DataError


def _write_png(path, value, size=(20, 12)):
    arr = np.full((size[1], size[0], 3), value, dtype=np.uint8)
    Image.fromarray(arr).save(path)


def test_class_folders_and_center_crop(tmp_path):
    for cls, value in (('cat', 10), ('dog', 200)):
        (tmp_path / cls).mkdir()
        for i in range(2):
            _write_png(tmp_path / cls / f'{i}.png', value)
    (tmp_path / 'dog' / 'notes.txt').write_text('ignored')
    ds = ImageFolderDataset(str(tmp_path), img_size=8)
    assert ds.classes == ('cat', 'dog') and len(ds) == 4
    sample = ds[2]
    assert sample['inputs'].shape == (3, 8, 8)
    assert sample['data_samples'].gt_label.item() == 1
    assert sample['inputs'].mean().item() == pytest.approx(200 / 255,
                                                           abs=1e-2)


def test_flat_folder_is_one_class(tmp_path):
    _write_png(tmp_path / 'a.png', 0)
    ds = ImageFolderDataset(str(tmp_path))
    assert len(ds) == 1 and ds[0]['inputs'].shape == (3, 12, 20)


def test_missing_root_and_empty_root(tmp_path):
    with pytest.raises(DataError, match='data_root.*does_not_exist'):
        ImageFolderDataset(str(tmp_path / 'does_not_exist'))
    with pytest.raises(DataError, match='no images'):
        ImageFolderDataset(str(tmp_path))


def _write_cifar(root, n=4):
    folder = root / 'cifar-10-batches-py'
    folder.mkdir()
    rng = np.random.RandomState(0)
    for name in [f'data_batch_{i}' for i in range(1, 6)] + ['test_batch']:
        batch = {
            'data': rng.randint(0, 256, (n, 3072)).astype(np.uint8),
            'labels': list(rng.randint(0, 10, n)),
            'batch_label': name
        }
        with open(folder / name, 'wb') as f:
            pickle.dump(batch, f)
    return folder


def test_cifar_python_batches(tmp_path):
    folder = _write_cifar(tmp_path)
    train = CIFAR10Dataset(str(tmp_path), split='train')
    test = CIFAR10Dataset(str(folder), split='test')
    assert len(train) == 20 and len(test) == 4
    with open(folder / 'test_batch', 'rb') as f:
        raw = pickle.load(f)
    expected = torch.from_numpy(raw['data'][1].reshape(3, 32, 32)) / 255
    assert torch.allclose(test[1]['inputs'], expected)
    assert test[1]['data_samples'].gt_label.item() == raw['labels'][1]


class _Evil:

    def __reduce__(self):
        import os
        return (os.system, ('true', ))


def test_cifar_reader_refuses_code(tmp_path):
    folder = _write_cifar(tmp_path)
    with open(folder / 'test_batch', 'wb') as f:
        pickle.dump({'data': _Evil(), 'labels': []}, f)
    with pytest.raises(DataError, match='test_batch.*refusing'):
        CIFAR10Dataset(str(tmp_path), split='test')
