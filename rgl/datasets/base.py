import torch
from mmpretrain.structures import DataSample
from torch.utils.data import Dataset

from rgl.registry import TRANSFORMS


def build_transforms(transforms):
    """Build a list of transform configs into one callable on a CHW tensor.

    Types are looked up in rgl's TRANSFORMS, which also holds every
    ``torchvision.transforms.v2`` class as ``'torchvision/<Name>'``.
    """
    if not transforms:
        return None
    built = [
        t if callable(t) else TRANSFORMS.build(t) for t in transforms
    ]

    def apply(img):
        for t in built:
            img = t(img)
        return img

    return apply


class LabeledImageDataset(Dataset):
    """Base of rgl's image datasets.

    ``__getitem__`` returns ``dict(inputs=img, data_samples=sample)`` with
    ``img`` a float ``(C, H, W)`` tensor in [0, 1] and ``sample`` an
    mmpretrain ``DataSample`` holding ``gt_label`` and ``sample_idx``, so
    rgl and mmpretrain models and metrics accept it alike.

    Subclasses implement :meth:`__len__`, :meth:`load_image` and
    :meth:`get_label`, and set ``self.classes``.
    """

    classes = ()

    def __init__(self, transforms=None):
        self.transform = build_transforms(transforms)

    @property
    def metainfo(self):
        return dict(classes=tuple(self.classes))

    def load_image(self, idx) -> torch.Tensor:
        raise NotImplementedError

    def get_label(self, idx) -> int:
        raise NotImplementedError

    def __getitem__(self, idx):
        img = self.load_image(idx)
        if img.dtype == torch.uint8:
            img = img.float().div_(255)
        if self.transform is not None:
            img = self.transform(img)
        sample = DataSample(metainfo=dict(sample_idx=idx))
        sample.set_gt_label(int(self.get_label(idx)))
        return dict(inputs=img, data_samples=sample)
