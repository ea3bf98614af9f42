import numpy as np
import torch
import torch.nn.functional as F

from rgl.registry import DATASETS
from rgl.utils.errors import ConfigError
from .base import LabeledImageDataset

#: Number of test images of the fixed split (20 %, stratified, seed 0).
NUM_TEST = 360


def load_digits_tensor(img_size=8, channels=1):
    """All 1,797 scikit-learn digits as uint8 ``(N, C, S, S)`` and labels.

    The 8x8 UCI images (grey levels 0..16) are scaled to [0, 255] and
    resized with antialiased bilinear interpolation.
    """
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = torch.from_numpy(digits.images.astype(np.float32) / 16.0)[:, None]
    if img_size != 8:
        x = F.interpolate(
            x, size=(img_size, img_size), mode='bilinear',
            align_corners=False, antialias=True).clamp_(0, 1)
    x = x.expand(-1, channels, -1, -1)
    x = (x * 255).round_().to(torch.uint8).contiguous()
    return x, torch.from_numpy(digits.target.astype(np.int64))


def digits_split_indices(labels, split):
    """Fixed stratified split: 1,437 train / 360 test images."""
    from sklearn.model_selection import train_test_split
    idx = np.arange(len(labels))
    train_idx, test_idx = train_test_split(
        idx, test_size=NUM_TEST, random_state=0, stratify=labels.numpy())
    return np.sort(train_idx if split == 'train' else test_idx)


@DATASETS.register_module()
class DigitsDataset(LabeledImageDataset):
    """scikit-learn's bundled handwritten digits (UCI), 10 classes.

    Needs no download. A fixed stratified split gives 1,437 train and 360
    test images; ``split='all'`` gives all 1,797.

    Args:
        split (str): ``'train'``, ``'test'`` or ``'all'``.
        img_size (int): side of the square images (8 is the original).
        channels (int): 1 (grey) or 3 (grey repeated, for RGB networks).
        transforms (list[dict], optional): tensor transforms.
    """

    classes = tuple(str(i) for i in range(10))

    def __init__(self, split='train', img_size=8, channels=1, transforms=None):
        super().__init__(transforms)
        if split not in ('train', 'test', 'all'):
            raise ConfigError(f"DigitsDataset.split must be 'train', 'test' "
                              f"or 'all', got {split!r}")
        if channels not in (1, 3):
            raise ConfigError(
                f'DigitsDataset.channels must be 1 or 3, got {channels}')
        images, labels = load_digits_tensor(img_size, channels)
        if split != 'all':
            keep = torch.from_numpy(digits_split_indices(labels, split))
            images, labels = images[keep], labels[keep]
        self.images, self.labels = images, labels
        self.split = split

    def __len__(self):
        return len(self.labels)

    def load_image(self, idx):
        return self.images[idx]

    def get_label(self, idx):
        return self.labels[idx]
