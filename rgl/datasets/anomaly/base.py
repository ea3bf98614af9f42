"""Common part of the anomaly datasets: a list of (image, label, mask)
records, checked once when the dataset is built, read as tensors."""
import os.path as osp

import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample
from PIL import Image
from torch.utils.data import Dataset
from torchvision.transforms.v2 import functional as TF

from rgl.utils.errors import DataError
from ..base import build_transforms

#: Label of normal ("good") and anomalous samples.
NORMAL, ANOMALOUS = 0, 1


def image_size_of(path):
    """``(H, W)`` of an image file, read from its header only."""
    try:
        with Image.open(path) as im:
            return im.size[::-1]
    except OSError as err:
        raise DataError(f'cannot read image {path}: {err}') from None


def read_rgb(path):
    """uint8 ``(3, H, W)`` tensor of an image file."""
    try:
        with Image.open(path) as im:
            return TF.pil_to_tensor(im.convert('RGB'))
    except OSError as err:
        raise DataError(f'cannot read image {path}: {err}') from None


def read_mask(path):
    """Binary uint8 ``(H, W)`` mask; any non-zero pixel is a defect (VisA
    masks store a region index, MVTec AD masks 255)."""
    try:
        with Image.open(path) as im:
            mask = TF.pil_to_tensor(im.convert('L'))[0]
    except OSError as err:
        raise DataError(f'cannot read mask {path}: {err}') from None
    return (mask > 0).to(torch.uint8)


class AnomalyDataset(Dataset):
    """Base of the anomaly datasets.

    Subclasses fill ``self.records`` with dicts ``img_path``, ``label``
    (0 normal / 1 anomalous), ``mask_path`` (``None`` for normal images)
    and ``defect_type``, then call :meth:`check_records`.

    ``__getitem__`` returns ``dict(inputs=img, data_samples=sample)``: ``img``
    a float ``(3, H, W)`` tensor in [0, 1] at the file's resolution (or
    ``img_size`` when given) and ``sample`` a ``DataSample`` with
    ``gt_label``, ``gt_mask`` (``(H, W)`` uint8 at the original resolution)
    and metainfo ``img_path``, ``ori_shape``, ``category`` (the class name
    WinCLIP's prompts use) and ``defect_type``.

    Args:
        category (str): the object class, e.g. ``'bottle'``.
        img_size (int | tuple, optional): resize the input image (bicubic,
            antialiased) so samples of different sizes batch together;
            masks and ``ori_shape`` keep the original resolution.
        transforms (list[dict], optional): tensor transforms of the image.
    """

    def __init__(self, category=None, img_size=None, transforms=None):
        self.category = category
        if isinstance(img_size, int):
            img_size = (img_size, img_size)
        self.img_size = img_size
        self.transform = build_transforms(transforms)
        self.records = []

    @property
    def metainfo(self):
        return dict(classes=('good', 'anomalous'), category=self.category)

    def check_records(self, where):
        """Fail early, naming the file: no images, a defect image without
        its mask, or a mask whose size differs from its image."""
        if not self.records:
            raise DataError(f'no images found for {where}')
        for rec in self.records:
            if rec['label'] == NORMAL:
                continue
            mask = rec['mask_path']
            if mask is None or not osp.isfile(mask):
                raise DataError(
                    f'defect image {rec["img_path"]} has no mask'
                    + (f' (expected {mask})' if mask else ''))
            img_hw, mask_hw = image_size_of(rec['img_path']), \
                image_size_of(mask)
            if img_hw != mask_hw:
                raise DataError(
                    f'mask {mask} is {mask_hw[0]}x{mask_hw[1]} but its image '
                    f'{rec["img_path"]} is {img_hw[0]}x{img_hw[1]} (H x W)')

    def normal_indices(self):
        return [i for i, r in enumerate(self.records)
                if r['label'] == NORMAL]

    def __len__(self):
        return len(self.records)

    def __getitem__(self, idx):
        rec = self.records[idx]
        img = read_rgb(rec['img_path'])
        ori_shape = tuple(img.shape[-2:])
        if rec['mask_path'] is not None:
            mask = read_mask(rec['mask_path'])
        else:
            mask = torch.zeros(ori_shape, dtype=torch.uint8)
        img = img.float().div_(255)
        if self.img_size is not None and ori_shape != tuple(self.img_size):
            img = F.interpolate(img[None], self.img_size, mode='bicubic',
                                align_corners=False,
                                antialias=True)[0].clamp_(0, 1)
        if self.transform is not None:
            img = self.transform(img)
        sample = DataSample(metainfo=dict(
            sample_idx=idx, img_path=rec['img_path'], ori_shape=ori_shape,
            category=self.category, defect_type=rec['defect_type']))
        sample.set_gt_label(int(rec['label']))
        sample.gt_mask = mask
        return dict(inputs=img, data_samples=sample)
