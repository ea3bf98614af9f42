"""Downsampled ImageNet 32x32 (Chrabaszcz, Loshchilov and Hutter, 2017).

The files from image-net.org's "Downsampled ImageNet" page, unpacked under
``data_root``, in either format:

- pickled batches ``train_data_batch_1`` ... ``train_data_batch_10`` and
  ``val_data``; or
- NumPy archives with the same names and a ``.npz`` suffix.

Each holds ``data``: uint8 (N, 3072), rows of the three 32x32 colour planes
(R, G, B, like CIFAR), and ``labels``: classes 1..1000 (stored 1-based,
returned 0-based). The pickles are read with CIFAR's restricted unpickler
(arrays only, nothing that runs code).
"""
import glob
import os.path as osp

import numpy as np
import torch

from rgl.registry import DATASETS
from rgl.utils.errors import DataError
from ..base import LabeledImageDataset
from ..cifar import load_batch
from ..image_folder import check_root

SPLIT_FILES = {'train': 'train_data_batch_*', 'val': 'val_data'}


def load_imagenet32_batch(path):
    """``(images uint8 (N, 3, S, S), labels int64 0-based)`` of one batch
    file (pickle or .npz)."""
    if path.endswith('.npz'):
        try:
            with np.load(path) as f:
                data, labels = f['data'], f['labels']
        except (OSError, ValueError, KeyError) as err:
            raise DataError(f'cannot read ImageNet32 batch {path}: {err}') \
                from None
    else:
        batch = load_batch(path)
        if not isinstance(batch, dict) or 'data' not in batch:
            raise DataError(f'{path}: not a downsampled-ImageNet batch (no '
                            '`data`)')
        data, labels = batch['data'], batch['labels']
    data = np.asarray(data, dtype=np.uint8)
    side = int(round((data.shape[1] // 3)**0.5))
    if data.ndim != 2 or data.shape[1] != 3 * side * side:
        raise DataError(f'{path}: data has shape {data.shape}; expected '
                        '(N, 3·S·S) rows of colour planes')
    labels = np.asarray(labels, dtype=np.int64) - 1
    if len(labels) != len(data) or labels.min(initial=0) < 0:
        raise DataError(f'{path}: labels must be 1..1000, one per image')
    return (torch.from_numpy(data.reshape(-1, 3, side, side)),
            torch.from_numpy(labels))


@DATASETS.register_module()
class ImageNet32Dataset(LabeledImageDataset):
    """Downsampled ImageNet (32x32; 64x64 files work too), 1,000 classes.

    Args:
        data_root (str): folder with the batch files (see the module
            docstring).
        split (str): ``'train'`` (1,281,167 images) or ``'val'`` (50,000;
            CLEL's FID reference for ImageNet 32).
        transforms (list[dict], optional): tensor transforms.
    """

    def __init__(self, data_root, split='train', transforms=None):
        super().__init__(transforms)
        if split not in SPLIT_FILES:
            raise DataError(f"ImageNet32Dataset.split must be 'train' or "
                            f"'val', got {split!r}")
        check_root(data_root)
        pattern = osp.join(data_root, SPLIT_FILES[split])
        files = sorted(set(glob.glob(pattern) + glob.glob(pattern + '.npz')),
                       key=_batch_order)
        if not files:
            raise DataError(f'data_root: no {SPLIT_FILES[split]}[.npz] '
                            f'files in {data_root}')
        parts = [load_imagenet32_batch(f) for f in files]
        self.images = torch.cat([p[0] for p in parts])
        self.labels = torch.cat([p[1] for p in parts])
        self.split = split

    def __len__(self):
        return len(self.labels)

    def load_image(self, idx):
        return self.images[idx]

    def get_label(self, idx):
        return self.labels[idx]


def _batch_order(path):
    """train_data_batch_2 before train_data_batch_10."""
    stem = osp.basename(path).split('.')[0]
    tail = stem.rsplit('_', 1)[-1]
    return (int(tail) if tail.isdigit() else 0, path)
