"""MetaMAE's data: DABS PAMAP2 and HIGGS files (written here in DABS'
formats), and the digits as a table."""
import math
import os.path as osp

import numpy as np
import pytest
import torch

from rgl.registry import DATASETS
from rgl.utils import ConfigError, DataError


def write_protocol(path, blocks, seed=0):
    """A subject10X.dat with one block of rows per (activity id, length)."""
    rng = np.random.default_rng(seed)
    rows, t = [], 0.0
    for activity, length in blocks:
        for _ in range(length):
            row = [t, activity] + list(rng.normal(size=52).round(3))
            rows.append(row)
            t += 0.01
    data = np.array(rows)
    data[::3, 2] = np.nan  # heart rate is sampled more slowly
    with open(path, 'w') as f:
        for row in data:
            f.write(' '.join('NaN' if np.isnan(v) else f'{v:g}' for v in row)
                    + '\n')
    return data


@pytest.fixture
def pamap2_root(tmp_path):
    folder = tmp_path / 'sensor' / 'pamap2' / 'PAMAP2_Dataset' / 'Protocol'
    folder.mkdir(parents=True)
    # subject 105: walking (4 -> class 3) long enough, sitting (2) too short,
    # transient rows (activity 0) never used; subject 106: rope jumping (24)
    d5 = write_protocol(folder / 'subject105.dat', [(0, 5), (4, 40), (2, 8)])
    d6 = write_protocol(folder / 'subject106.dat', [(24, 30)], seed=1)
    return str(tmp_path), d5, d6


def test_pamap2_windows(pamap2_root):
    root, d5, d6 = pamap2_root
    ds = DATASETS.build(dict(type='PAMAP2Dataset', data_root=root,
                             split='heldout', window=10, num_samples=50))
    assert len(ds) == 50 and len(ds.classes) == 12
    labels = set()
    for i in range(50):
        item = ds[i]
        x, label = item['inputs'], item['data_samples'].gt_label.item()
        assert x.shape == (52, 10) and x.dtype == torch.float32
        assert not torch.isnan(x).any()
        labels.add(label)
        src = d5[d5[:, 1] == 4] if label == 3 else d6
        # the window is 10 consecutive rows of its activity, channel-first
        ch = x[5].numpy()  # an IMU channel (column 7), never NaN
        col = src[:, 7].astype(np.float32)
        starts = [s for s in range(len(col) - 9)
                  if np.allclose(col[s:s + 10], ch)]
        assert starts, 'window not found in its activity'
    assert labels == {3, 11}  # walking and rope jumping; sitting too short
    # item i is fixed by (seed, i): same draw again, other seed differs
    again = DATASETS.build(dict(type='PAMAP2Dataset', data_root=root,
                                split='heldout', window=10, num_samples=50))
    assert torch.equal(again[7]['inputs'], ds[7]['inputs'])
    other = DATASETS.build(dict(type='PAMAP2Dataset', data_root=root,
                                split='heldout', window=10, num_samples=50,
                                seed=1))
    assert not all(torch.equal(other[i]['inputs'], ds[i]['inputs'])
                   for i in range(5))
    # parsed once, cached beside the file
    assert osp.isfile(osp.join(root, 'sensor', 'pamap2', 'PAMAP2_Dataset',
                               'Protocol', 'subject105.dat.npy'))


def test_pamap2_interpolates_heart_rate(pamap2_root):
    from rgl.datasets.dabs import read_protocol
    root, d5, _ = pamap2_root
    path = osp.join(root, 'sensor', 'pamap2', 'PAMAP2_Dataset', 'Protocol',
                    'subject105.dat')
    data = read_protocol(path)
    hr = d5[:, 2]
    # rows 3 and 6 are NaN-free; row 0 NaN takes the first valid value
    np.testing.assert_allclose(data[0, 2], hr[1], rtol=1e-6)
    np.testing.assert_allclose(data[3, 2], (hr[2] + hr[4]) / 2, rtol=1e-5)


def test_pamap2_errors(tmp_path, pamap2_root):
    with pytest.raises(DataError, match='subject101.dat'):
        DATASETS.build(dict(type='PAMAP2Dataset', data_root=str(tmp_path)))
    with pytest.raises(ConfigError, match='split'):
        DATASETS.build(dict(type='PAMAP2Dataset', data_root=str(tmp_path),
                            split='dev'))


def write_higgs(path, n=23):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, n).astype(float)
    feats = rng.normal(size=(n, 28)).round(4)
    names = ['', 'class_label'] + [f'f{i}' for i in range(28)]
    with open(path, 'w') as f:
        f.write(','.join(names) + '\n')
        for i in range(n):
            f.write(','.join([str(i), f'{labels[i]:g}'] +
                             [f'{v:g}' for v in feats[i]]) + '\n')
    return labels, feats


def test_higgs_dabs_split(tmp_path):
    folder = tmp_path / 'particle_physics'
    folder.mkdir()
    labels, feats = write_higgs(folder / 'higgsTransfer.csv')
    train = DATASETS.build(dict(type='HIGGSDataset', data_root=str(tmp_path),
                                subset='transfer', split='train'))
    test = DATASETS.build(dict(type='HIGGSDataset', data_root=str(tmp_path),
                               subset='transfer', split='test'))
    n = 23
    assert len(train) == math.ceil(0.9 * n) and len(test) == 2
    order = np.random.RandomState(42).permutation(n)
    item = test[1]
    np.testing.assert_allclose(item['inputs'].numpy(), feats[order[-1]],
                               rtol=1e-6)
    assert item['data_samples'].gt_label.item() == labels[order[-1]]
    assert item['inputs'].shape == (28, )
    seen = {tuple(train[i]['inputs'].numpy().round(4)) for i in range(21)}
    seen |= {tuple(test[i]['inputs'].numpy().round(4)) for i in range(2)}
    assert len(seen) == n  # the two splits partition the file
    with pytest.raises(DataError, match='higgsPretrain.csv'):
        DATASETS.build(dict(type='HIGGSDataset', data_root=str(tmp_path)))


def test_higgs_rejects_other_layouts(tmp_path):
    folder = tmp_path / 'particle_physics'
    folder.mkdir()
    (folder / 'higgsPretrain.csv').write_text('a,b,c\n1,2,3\n')
    with pytest.raises(DataError, match='expected 30 columns'):
        DATASETS.build(dict(type='HIGGSDataset', data_root=str(tmp_path)))


def test_digits_table():
    from sklearn.datasets import load_digits
    from rgl.datasets import DigitsDataset
    ds = DATASETS.build(dict(type='DigitsTableDataset', split='test'))
    img = DigitsDataset('test', img_size=8)
    assert len(ds) == 360
    item = ds[4]
    assert item['inputs'].shape == (64, )
    assert item['data_samples'].gt_label.item() == int(img.labels[4])
    np.testing.assert_allclose(item['inputs'].numpy(),
                               img[4]['inputs'].reshape(-1).numpy(),
                               atol=1 / 255)
    full = DATASETS.build(dict(type='DigitsTableDataset', split='all'))
    np.testing.assert_allclose(full[0]['inputs'].numpy(),
                               load_digits().data[0] / 16)
