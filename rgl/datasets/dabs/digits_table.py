"""scikit-learn's digits as a table: 64 features, one per pixel."""
import numpy as np

from rgl.registry import DATASETS
from rgl.utils.errors import ConfigError
from ..digits import digits_split_indices
from .base import VectorDataset


@DATASETS.register_module()
class DigitsTableDataset(VectorDataset):
    """The bundled 8×8 digits as rows of 64 features (grey level / 16, in
    [0, 1]), the tabular modality of the MetaMAE quickstart. The split is
    :class:`~rgl.datasets.DigitsDataset`'s (1,437 train / 360 test).

    Args:
        split (str): ``'train'``, ``'test'`` or ``'all'``.
    """

    classes = tuple(str(i) for i in range(10))

    def __init__(self, split='train'):
        import torch
        from sklearn.datasets import load_digits
        if split not in ('train', 'test', 'all'):
            raise ConfigError(f"DigitsTableDataset.split must be 'train', "
                              f"'test' or 'all', got {split!r}")
        digits = load_digits()
        features = (digits.data / 16.0).astype(np.float32)
        labels = digits.target.astype(np.int64)
        if split != 'all':
            keep = digits_split_indices(torch.from_numpy(labels), split)
            features, labels = features[keep], labels[keep]
        self.features, self.labels, self.split = features, labels, split

    def __len__(self):
        return len(self.labels)

    def load(self, idx):
        return self.features[idx], self.labels[idx]
