"""ImageNet32 loader on written batch files (pickle and .npz)."""
import pickle

import numpy as np
import pytest
import torch

from rgl.datasets.imagenet32 import ImageNet32Dataset
from rgl.utils.errors import DataError


def write(tmp_path, name, n, start, npz=False):
    rng = np.random.default_rng(start)
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = list(range(start, start + n))
    if npz:
        np.savez(tmp_path / f'{name}.npz', data=data, labels=labels)
    else:
        with open(tmp_path / name, 'wb') as f:
            pickle.dump(dict(data=data, labels=labels, mean=data.mean(0)), f)
    return data


@pytest.mark.parametrize('npz', [False, True])
def test_imagenet32_batches(tmp_path, npz):
    d1 = write(tmp_path, 'train_data_batch_1', 3, 1, npz)
    d2 = write(tmp_path, 'train_data_batch_2', 2, 4, npz)
    d10 = write(tmp_path, 'train_data_batch_10', 2, 6, npz)
    write(tmp_path, 'val_data', 4, 1, npz)
    ds = ImageNet32Dataset(str(tmp_path), 'train')
    assert len(ds) == 7
    assert ds.labels.tolist() == [0, 1, 2, 3, 4, 5, 6]  # 1-based -> 0
    # batch 10 after batch 2; rows are R, G, B planes
    assert torch.equal(ds.images[5], torch.from_numpy(
        d10[0].reshape(3, 32, 32)))
    assert torch.equal(ds.images[3, 1], torch.from_numpy(
        d2[0, 1024:2048].reshape(32, 32)))
    assert torch.equal(ds.images[0], torch.from_numpy(
        d1[0].reshape(3, 32, 32)))
    assert len(ImageNet32Dataset(str(tmp_path), 'val')) == 4


def test_imagenet32_errors(tmp_path):
    with pytest.raises(DataError, match='data_root'):
        ImageNet32Dataset(str(tmp_path), 'train')
    with pytest.raises(DataError, match='split'):
        ImageNet32Dataset(str(tmp_path), 'test')
