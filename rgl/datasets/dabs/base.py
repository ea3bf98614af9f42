import os
import os.path as osp

import numpy as np
import torch
from mmpretrain.structures import DataSample
from torch.utils.data import Dataset

from rgl.utils.errors import DataError


def require_file(path, hint):
    if not osp.isfile(path):
        raise DataError(f'missing file {path}: {hint}')
    return path


def cached_array(path, parse, cache=True):
    """``parse(path)`` as a float32 array, cached beside the file as
    ``<path>.npy`` (loaded with ``allow_pickle=False``) when the folder is
    writable: parsing the text files of DABS takes long."""
    npy = path + '.npy'
    if cache and osp.isfile(npy) and \
            osp.getmtime(npy) >= osp.getmtime(path):
        return np.load(npy, allow_pickle=False)
    array = parse(path)
    if cache and os.access(osp.dirname(path) or '.', os.W_OK):
        # atomic: several processes (DDP ranks) may parse the same file
        tmp = f'{npy}.{os.getpid()}.tmp.npy'
        np.save(tmp, array)
        os.replace(tmp, npy)
    return array


class VectorDataset(Dataset):
    """Items ``dict(inputs=x, data_samples=DataSample)`` with a gt label and
    the sample index, as rgl's image datasets."""

    classes = ()

    @property
    def metainfo(self):
        return dict(classes=tuple(self.classes))

    def load(self, idx):
        """Return ``(x, label)``."""
        raise NotImplementedError

    def __getitem__(self, idx):
        x, label = self.load(idx)
        sample = DataSample(metainfo=dict(sample_idx=idx))
        sample.set_gt_label(int(label))
        return dict(inputs=torch.as_tensor(x), data_samples=sample)
