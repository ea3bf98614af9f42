"""ImageReward (Xu et al., 2023) as a plug-in of the official package.

ImageReward is a BLIP ViT + BERT cross-attention encoder with an MLP head
trained on ImageRewardDB. Its checkpoint layout is the package's own (not a
transformers folder), so rgl delegates to the ``image-reward`` package and
only checks that every file is local first. Neither the package nor its
weights are available on rgl's test machines: this wrapper is untested
beyond its error paths (see docs/methods/textnorm.md).
"""
import os.path as osp

import torch

from rgl.registry import MODELS
from rgl.utils.errors import CheckpointError, ConfigError
from .base import BaseRewardModel


@MODELS.register_module()
class ImageRewardScore(BaseRewardModel):
    """``r(x, p)``: ImageReward's scalar score (higher is better).

    Args:
        checkpoint (str): local ``ImageReward.pt``.
        med_config (str): local ``med_config.json`` (the BERT config the
            package otherwise downloads).
        batch_size (int): images per forward pass.
    """

    def __init__(self, checkpoint=None, med_config=None, batch_size=16):
        super().__init__(batch_size)
        for key, path in (('checkpoint', checkpoint),
                          ('med_config', med_config)):
            if path is None:
                raise ConfigError(f'ImageRewardScore.{key} is required (a '
                                  'local file; no hub download)')
            if not osp.isfile(path):
                raise CheckpointError(f'ImageRewardScore: {key} file not '
                                      f'found: {path}')
        try:
            import ImageReward as reward_package
        except ImportError:
            raise ConfigError('ImageRewardScore needs the optional package '
                              '`image-reward` (pip install image-reward); '
                              'its BERT tokenizer must also be in the local '
                              'transformers cache') from None
        self.model = reward_package.load(checkpoint, device='cpu',
                                         med_config=med_config)
        self.model.eval().requires_grad_(False)

    def score_batch(self, images, prompts):
        from torchvision.transforms.functional import to_pil_image
        out = []
        for image, prompt in zip(images, prompts):  # the package's API
            pil = to_pil_image(image.float().clamp(0, 1).cpu())
            out.append(float(self.model.score(prompt, [pil])))
        return torch.tensor(out)
