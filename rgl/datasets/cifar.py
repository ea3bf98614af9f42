import os.path as osp
import pickle

import numpy as np
import torch

from rgl.registry import DATASETS
from rgl.utils.errors import DataError
from .base import LabeledImageDataset
from .image_folder import check_root

_ALLOWED = {
    ('numpy', 'ndarray'), ('numpy', 'dtype'),
    ('numpy.core.multiarray', '_reconstruct'),
    ('numpy._core.multiarray', '_reconstruct'),
    ('numpy.core.multiarray', 'scalar'), ('numpy._core.multiarray', 'scalar'),
    ('_codecs', 'encode')
}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, strings, bytes and numpy arrays, nothing
    that could run code (CIFAR's python batches are pickles)."""

    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f'refusing to load {module}.{name}')


def load_batch(path):
    try:
        with open(path, 'rb') as f:
            return _ArrayUnpickler(f, encoding='latin1').load()
    except FileNotFoundError:
        raise DataError(f'CIFAR batch file not found: {path}') from None
    except (pickle.UnpicklingError, EOFError, ValueError) as err:
        raise DataError(f'cannot read CIFAR batch {path}: {err}') from None


@DATASETS.register_module()
class CIFAR10Dataset(LabeledImageDataset):
    """CIFAR-10 from its python batches (``cifar-10-batches-py``).

    Args:
        data_root (str): the ``cifar-10-batches-py`` folder or its parent.
        split (str): ``'train'`` (data_batch_1..5) or ``'test'``.
        transforms (list[dict], optional): tensor transforms, e.g.
            ``[dict(type='torchvision/RandomCrop', size=32, padding=4),
            dict(type='torchvision/RandomHorizontalFlip')]``.
    """

    base_folder = 'cifar-10-batches-py'
    classes = ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog',
               'horse', 'ship', 'truck')

    def __init__(self, data_root, split='train', transforms=None):
        super().__init__(transforms)
        check_root(data_root)
        if osp.isdir(osp.join(data_root, self.base_folder)):
            data_root = osp.join(data_root, self.base_folder)
        names = ([f'data_batch_{i}' for i in range(1, 6)]
                 if split == 'train' else ['test_batch'])
        images, labels = [], []
        for name in names:
            batch = load_batch(osp.join(data_root, name))
            images.append(np.asarray(batch['data'], dtype=np.uint8))
            labels += list(batch.get('labels', batch.get('fine_labels', [])))
        self.images = torch.from_numpy(
            np.concatenate(images).reshape(-1, 3, 32, 32))
        self.labels = torch.as_tensor(labels, dtype=torch.long)

    def __len__(self):
        return len(self.labels)

    def load_image(self, idx):
        return self.images[idx]

    def get_label(self, idx):
        return self.labels[idx]
