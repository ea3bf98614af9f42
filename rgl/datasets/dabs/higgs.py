"""DABS HIGGS: particle-physics table (Baldi et al., 2014)."""
import math
import os.path as osp

import numpy as np

from rgl.registry import DATASETS
from rgl.utils.errors import ConfigError, DataError
from .base import VectorDataset, cached_array, require_file

NUM_FEATURES = 28
FILES = dict(pretrain='higgsPretrain.csv', transfer='higgsTransfer.csv')


def read_higgs_csv(path):
    """DABS' CSV: a header, then per row the pandas index, the 0/1 class
    label and the 28 features. Returns float32 ``(rows, 29)``: label then
    features."""
    with open(path) as f:
        header = f.readline().rstrip('\n').split(',')
    if len(header) != NUM_FEATURES + 2:
        raise DataError(f'{path}: expected {NUM_FEATURES + 2} columns '
                        f'(index, class_label, 28 features), found '
                        f'{len(header)}')
    try:
        data = np.loadtxt(path, delimiter=',', skiprows=1, ndmin=2,
                          dtype=np.float32, usecols=range(1, len(header)))
    except ValueError as err:
        raise DataError(f'{path}: malformed row ({err})') from None
    return data


@DATASETS.register_module()
class HIGGSDataset(VectorDataset):
    """HIGGS rows as DABS writes them (signal vs background, 2 classes).

    Expected files (written by DABS' ``HiggsPretrain``/``HiggsTransfer``
    with ``download=True``: the TFDS ``higgs`` train split, first 90 % for
    pre-training, last 10 % for transfer)::

        data_root/particle_physics/higgsPretrain.csv
        data_root/particle_physics/higgsTransfer.csv

    Each is parsed once and cached beside it as ``<file>.npy``. The split
    is DABS': rows shuffled with ``RandomState(42).permutation`` (what
    pandas' ``sample(frac=1, random_state=42)`` draws), the first
    ⌈0.9 n⌉ for ``'train'``, the last ⌊0.1 n⌋ for ``'test'``.

    Args:
        data_root (str): the DABS data root.
        subset (str): ``'pretrain'`` or ``'transfer'``.
        split (str): ``'train'`` or ``'test'``.
        cache (bool): write/read the ``.npy`` cache.

    Items: ``inputs`` float ``(28,)``, label 0 or 1.
    """

    classes = ('background', 'signal')

    def __init__(self, data_root, subset='pretrain', split='train',
                 cache=True):
        if subset not in FILES:
            raise ConfigError(f"HIGGSDataset.subset must be 'pretrain' or "
                              f"'transfer', got {subset!r}")
        if split not in ('train', 'test'):
            raise ConfigError(f"HIGGSDataset.split must be 'train' or "
                              f"'test', got {split!r}")
        path = require_file(
            osp.join(data_root, 'particle_physics', FILES[subset]),
            "write it with DABS' src/datasets/particle_physics/higgs.py "
            '(download=True), see docs/methods/metamae.md')
        data = cached_array(path, read_higgs_csv, cache)
        n = len(data)
        order = np.random.RandomState(42).permutation(n)
        keep = order[:math.ceil(0.9 * n)] if split == 'train' else \
            order[n - math.floor(0.1 * n):]
        self.labels = data[keep, 0].astype(np.int64)
        self.features = data[keep, 1:]
        self.subset, self.split = subset, split

    def __len__(self):
        return len(self.labels)

    def load(self, idx):
        return self.features[idx], self.labels[idx]
