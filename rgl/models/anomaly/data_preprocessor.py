import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor

from rgl.registry import MODELS


def resize_images(img, size):
    """Bicubic, antialiased resize of ``(N, C, H, W)`` or ``(C, H, W)``
    images in [0, 1] (CLIP's own preprocessing is bicubic; other kernels
    cost several AUROC points)."""
    if tuple(img.shape[-2:]) == tuple(size):
        return img
    batched = img.dim() == 4
    out = F.interpolate(img if batched else img[None], size=tuple(size),
                        mode='bicubic', align_corners=False, antialias=True)
    out = out.clamp_(0, 1)
    return out if batched else out[0]


@MODELS.register_module()
class AnomalyDataPreprocessor(BaseDataPreprocessor):
    """Stack images of any sizes into ``(N, C, H, W)`` float in [0, 1].

    Each image is resized to ``size`` first (the CLIP input side), so one
    batch may mix resolutions; the original size stays in the samples'
    ``ori_shape``, where the anomaly maps are returned (samples are created
    to hold it when the batch has none).

    Args:
        size (int | tuple, optional): the model's input size.
    """

    def __init__(self, size=None):
        super().__init__()
        self.size = (size, size) if isinstance(size, int) else size

    def forward(self, data, training=False):
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, torch.Tensor):
            inputs = list(inputs)
        samples = data.get('data_samples')
        if samples is None:  # plain images: remember their size for the maps
            from mmpretrain.structures import DataSample
            samples = [DataSample(metainfo=dict(
                ori_shape=tuple(img.shape[-2:]))) for img in inputs]
        imgs = []
        for img in inputs:
            img = img.float().div(255) if img.dtype == torch.uint8 \
                else img.float()
            imgs.append(resize_images(img, self.size) if self.size else img)
        return dict(inputs=torch.stack(imgs), data_samples=samples)
