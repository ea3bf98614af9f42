import torch
from mmengine.model import BaseDataPreprocessor

from rgl.registry import MODELS


def _stack(items):
    if isinstance(items, (list, tuple)):
        items = torch.stack(list(items))
    return items


def _to_unit(x):
    """uint8 images → float [0, 1]; float tensors pass through."""
    if x.dtype == torch.uint8:
        return x.float().div_(255)
    return x if x.is_floating_point() else x.float()


@MODELS.register_module()
class GenerativeDataPreprocessor(BaseDataPreprocessor):
    """Batch the samples of pixel or latent datasets for generative models.

    ``inputs`` are images (uint8 or [0, 1]) or latents; the optional
    ``images`` (raw images for the encoders) and ``features`` (pre-extracted
    encoder tokens, one tensor per encoder) are stacked and passed through,
    so mmengine's ``model(**data, mode=...)`` hands them to the algorithm.
    """

    def forward(self, data, training=False):
        data = self.cast_data(data)
        out = dict(inputs=_to_unit(_stack(data['inputs'])),
                   data_samples=data.get('data_samples'))
        if data.get('images') is not None:
            out['images'] = _to_unit(_stack(data['images']))
        if data.get('features') is not None:
            feats = data['features']
            if isinstance(feats, torch.Tensor):
                feats = [feats]
            out['features'] = [_stack(f).float() for f in feats]
        return out
