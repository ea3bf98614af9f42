"""DABS PAMAP2: wearable-sensor time series (Reiss & Stricker, 2012)."""
import os.path as osp

import numpy as np

from rgl.registry import DATASETS
from rgl.utils.errors import ConfigError, DataError
from .base import VectorDataset, cached_array, require_file

#: activity ids of the 12 classes (MetaMAE's list: DABS' 11 plus 17, ironing)
ACTIVITY_IDS = (1, 2, 3, 4, 5, 6, 7, 12, 13, 16, 17, 24)
ACTIVITY_NAMES = ('lying', 'sitting', 'standing', 'walking', 'running',
                  'cycling', 'Nordic walking', 'ascending stairs',
                  'descending stairs', 'vacuum cleaning', 'ironing',
                  'rope jumping')
#: subjects per split: DABS' train/val/test; ``'heldout'`` = MetaMAE's
#: linear-evaluation test set (subjects 105 and 106)
SUBJECTS = dict(train=(1, 2, 3, 4, 7, 8, 9), val=(5, ), test=(6, ),
                heldout=(5, 6))
NUM_COLUMNS = 54  # timestamp, activity id, heart rate, 3 IMUs x 17


def read_protocol(path):
    """One ``subject10X.dat``: whitespace-separated, 54 columns, 'NaN' for
    dropped readings. NaNs are linearly interpolated along time (pandas'
    ``interpolate``, as DABS); leading NaNs take the first valid value."""
    try:
        data = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError as err:
        raise DataError(f'{path}: not a PAMAP2 protocol file ({err})') \
            from None
    if data.shape[1] != NUM_COLUMNS:
        raise DataError(f'{path}: expected {NUM_COLUMNS} columns, found '
                        f'{data.shape[1]}')
    steps = np.arange(len(data))
    for col in range(2, NUM_COLUMNS):
        values = data[:, col]
        ok = ~np.isnan(values)
        if not ok.any():
            values[:] = 0
        elif not ok.all():
            values[~ok] = np.interp(steps[~ok], steps[ok], values[ok])
    return data.astype(np.float32)


@DATASETS.register_module()
class PAMAP2Dataset(VectorDataset):
    """Windows of 320 steps × 52 channels of PAMAP2, labelled with one of
    12 activities, in DABS' format.

    Expected files (the UCI archive unpacked, as DABS' downloader does)::

        data_root/sensor/pamap2/PAMAP2_Dataset/Protocol/subject101.dat
                                                  ...    subject109.dat

    ``data_root/sensor/pamap2/Protocol/`` (MetaMAE's layout) works too.
    Each file is parsed once and cached beside it as ``<file>.npy``.

    As in DABS, an item is a random window: a (subject, activity) pair among
    those with more than 320 steps, then a start inside it. Here the draw of
    item ``i`` comes from ``(seed, i)``, so a dataset is a fixed set of
    windows, whatever the loader order.

    Args:
        data_root (str): the DABS data root.
        split (str): ``'train'`` (subjects 1-4, 7-9), ``'val'`` (5),
            ``'test'`` (6) or ``'heldout'`` (5 and 6, MetaMAE's evaluation).
        num_samples (int, optional): windows per epoch; DABS: 50,000 for
            train, 10,000 otherwise.
        window (int): steps per window (320).
        seed (int): seed of the window draws.
        cache (bool): write/read the ``.npy`` caches.

    Items: ``inputs`` float ``(52, window)`` (heart rate and the 51 IMU
    channels, raw units, channel-first as MetaMAE), label in [0, 12).
    """

    classes = ACTIVITY_NAMES

    def __init__(self, data_root, split='train', num_samples=None,
                 window=320, seed=0, cache=True):
        if split not in SUBJECTS:
            raise ConfigError(f'PAMAP2Dataset.split must be one of '
                              f'{sorted(SUBJECTS)}, got {split!r}')
        folder = osp.join(data_root, 'sensor', 'pamap2', 'PAMAP2_Dataset',
                          'Protocol')
        if not osp.isdir(folder):
            alt = osp.join(data_root, 'sensor', 'pamap2', 'Protocol')
            folder = alt if osp.isdir(alt) else folder
        self.split, self.window, self.seed = split, window, seed
        self.num_samples = num_samples or (50000 if split == 'train' else
                                           10000)
        self.segments = []  # (array (steps, 52), label)
        for subject in SUBJECTS[split]:
            path = require_file(
                osp.join(folder, f'subject10{subject}.dat'),
                'unpack the UCI PAMAP2_Dataset.zip under '
                '<data_root>/sensor/pamap2/ (see docs/methods/metamae.md)')
            data = cached_array(path, read_protocol, cache)
            for label, activity in enumerate(ACTIVITY_IDS):
                rows = data[data[:, 1] == activity, 2:]
                if len(rows) > window:
                    self.segments.append((rows, label))
        if not self.segments:
            raise DataError(f'no activity of split {split!r} under {folder} '
                            f'is longer than {window} steps')

    def __len__(self):
        return self.num_samples

    def load(self, idx):
        rng = np.random.default_rng([self.seed, idx])
        rows, label = self.segments[rng.integers(len(self.segments))]
        start = rng.integers(len(rows) - self.window)
        return rows[start:start + self.window].T.copy(), label
