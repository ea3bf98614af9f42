"""CLIP score (Radford et al., 2021) from open_clip weights on disk."""
import torch

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError
from .base import DualEncoderReward

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@MODELS.register_module()
class CLIPScore(DualEncoderReward):
    """``r(x, p) = s · cos(E_I(x), E_T(p))`` with an open_clip model.

    With ``s`` the model's logit scale (100 for OpenAI CLIP), a softmax of
    these rewards over prompts is CLIP's zero-shot posterior, which is what
    TextNorm's calibration then computes.

    Args:
        model_name (str): an open_clip architecture, e.g. ``'ViT-L-14'``.
        checkpoint (str): a local open_clip/OpenAI state dict
            (``.bin``/``.pt``/``.safetensors``). Required: a reward from
            random weights is meaningless, so ``None`` is refused unless
            ``allow_random=True`` (tests).
        model_cfg (dict, optional): an open_clip model config replacing the
            named one (tiny towers in tests).
        scale (float | str): ``'logit_scale'`` (the model's learned
            ``exp(logit_scale)``) or a fixed multiplier of the cosine.
        batch_size (int): images per forward pass.
        allow_random (bool): accept ``checkpoint=None``.
    """

    def __init__(self, model_name='ViT-L-14', checkpoint=None, model_cfg=None,
                 scale='logit_scale', batch_size=32, allow_random=False,
                 mean=OPENAI_CLIP_MEAN, std=OPENAI_CLIP_STD):
        super().__init__(batch_size)
        from rgl.models.anomaly.clip_loader import (build_open_clip,
                                                    build_tokenizer)
        if checkpoint is None and not allow_random:
            raise ConfigError('CLIPScore.checkpoint is required: a local '
                              'open_clip state dict (no hub download)')
        if not (scale == 'logit_scale' or isinstance(scale, (int, float))):
            raise ConfigError(f"CLIPScore.scale must be 'logit_scale' or a "
                              f'number; got {scale!r}')
        self.clip = build_open_clip(model_name, checkpoint, model_cfg)
        self.tokenizer = build_tokenizer(model_name, self.clip)
        size = self.clip.visual.image_size
        self.image_size = int(size[0] if isinstance(size, (tuple, list))
                              else size)
        self.mean, self.std, self.scale = mean, std, scale

    def encode_images(self, images):
        from .base import to_model_pixels
        x = to_model_pixels(images, self.image_size, self.mean, self.std)
        return self.clip.encode_image(x.to(self.device))

    def encode_texts(self, texts):
        tokens = self.tokenizer(list(texts)).to(self.device)
        return self.clip.encode_text(tokens)

    def reward_scale(self):
        if self.scale == 'logit_scale':
            return self.clip.logit_scale.detach().exp().float()
        return torch.tensor(float(self.scale))
