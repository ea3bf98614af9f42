"""ImageReward (Xu et al., 2023) as a plug-in of the official package.

ImageReward is a BLIP ViT + BERT cross-attention encoder with an MLP head
trained on ImageRewardDB. Its checkpoint layout is the package's own (not a
transformers folder), so rgl delegates to the ``image-reward`` package and
only checks that every file is local first.

Status (checked against the ``image-reward`` 1.5 wheel): the package does
not import on rgl's stack. Its BLIP text encoder imports
``apply_chunking_to_forward`` from ``transformers.modeling_utils``
(removed in transformers 5), its ViT imports ``fairscale`` and it pins
``timm==0.6.13``; its tokenizer is ``BertTokenizer.from_pretrained(
'bert-base-uncased')`` (a hub name). So no ImageReward checkpoint, real or
random, can be loaded strictly through this wrapper here: this wrapper is
tested on its error paths only. Loading the official key layout
(``blip.visual_encoder.*``, ``blip.text_encoder.*``, ``mlp.layers.*``)
strictly needs an rgl-side BLIP ViT + cross-attention BERT (or a converter
to transformers' ``BlipForImageTextRetrieval`` keys), which is not written
(docs/methods/textnorm.md).
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
        except ModuleNotFoundError as err:
            if err.name != 'ImageReward':
                raise ConfigError(
                    'ImageRewardScore: the `image-reward` package is '
                    f'installed but needs {err.name!r} (it pins timm 0.6.13 '
                    'and fairscale 0.4.13)') from None
            raise ConfigError('ImageRewardScore needs the optional package '
                              '`image-reward` (pip install image-reward); '
                              'its BERT tokenizer must also be in the local '
                              'transformers cache') from None
        except ImportError as err:
            raise ConfigError(
                'ImageRewardScore: the `image-reward` package does not '
                f'import on this transformers/timm ({err}); it was written '
                'for transformers 4.x and timm 0.6') from None
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
