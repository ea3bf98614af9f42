import numpy as np
import pytest
import torch

from rgl.datasets import DigitsDataset
from rgl.utils import ConfigError


def test_fixed_stratified_split():
    train, test = DigitsDataset('train'), DigitsDataset('test')
    assert len(train) == 1437 and len(test) == 360
    assert len(DigitsDataset('all')) == 1797
    # every class is in the test split in proportion (stratified)
    counts = torch.bincount(test.labels, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37
    # deterministic: built twice, identical
    again = DigitsDataset('test')
    assert torch.equal(again.images, test.images)
    # disjoint: no test image equals a train image at the same position set
    train_set = {bytes(x.numpy()) for x in train.images}
    overlap = sum(bytes(x.numpy()) in train_set for x in test.images)
    assert overlap < 5  # a few digits are pixel-identical across writers


def test_sample_format_and_resize():
    ds = DigitsDataset('test', img_size=32, channels=3)
    sample = ds[3]
    img = sample['inputs']
    assert img.shape == (3, 32, 32) and img.dtype == torch.float32
    assert 0 <= img.min() and img.max() <= 1
    assert torch.equal(img[0], img[1])
    assert sample['data_samples'].gt_label.item() == int(ds.labels[3])
    assert sample['data_samples'].sample_idx == 3
    assert ds.metainfo['classes'] == tuple('0123456789')


def test_values_match_the_uci_grey_levels():
    from sklearn.datasets import load_digits
    raw = load_digits().images[0]
    ds = DigitsDataset('all', img_size=8)
    np.testing.assert_allclose(ds[0]['inputs'][0].numpy(), raw / 16,
                               atol=1 / 255)


def test_transforms_from_the_registry():
    ds = DigitsDataset(
        'test', img_size=16,
        transforms=[dict(type='torchvision/RandomHorizontalFlip', p=1.0)])
    plain = DigitsDataset('test', img_size=16)
    assert torch.equal(ds[0]['inputs'], plain[0]['inputs'].flip(-1))


def test_bad_arguments_name_the_key():
    with pytest.raises(ConfigError, match='split'):
        DigitsDataset('validation')
    with pytest.raises(ConfigError, match='channels'):
        DigitsDataset('train', channels=2)
