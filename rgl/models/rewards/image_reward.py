"""ImageReward (Xu et al., 2023): ``r(x, p)`` from the released checkpoint.

ImageReward is a BLIP ViT-L/16 image encoder, a BERT-base text encoder with
cross-attention to the image tokens, and an MLP on the [CLS] output,
standardised as ``(MLP(h) - μ) / σ`` (μ = 0.16717..., σ = 1.03333...).
The official ``image-reward`` package does not import on rgl's stack
(transformers 5, timm 1.x, no fairscale), so rgl builds the same network
from transformers' BLIP modules (:mod:`.image_reward_blip`) and converts
the released ``ImageReward.pt`` key layout (:mod:`.image_reward_convert`),
strictly. Everything is local: the checkpoint, optionally the released
``med_config.json``, and a ``bert-base-uncased`` tokenizer folder.

Preprocessing follows the release (bicubic resize of the shorter side to
224, centre crop, CLIP mean/std) on tensors instead of PIL images, and the
prompt is tokenised to 35 tokens with padding, [CLS] first.
"""
import os.path as osp

import torch

from rgl.registry import MODELS
from rgl.utils.errors import CheckpointError, ConfigError, DataError
from .base import BaseRewardModel, to_model_pixels
from .image_reward_blip import (REWARD_MEAN, REWARD_STD, ImageRewardNet,
                                build_tokenizer, load_med_config, tokenize)
from .image_reward_convert import load_official_weights

# ImageReward.py's Normalize(...): the CLIP statistics.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@MODELS.register_module()
class ImageRewardScore(BaseRewardModel):
    """``r(x, p)``: ImageReward's standardised score (higher is better).

    Args:
        checkpoint (str): local ``ImageReward.pt`` (official layout).
        med_config (str, optional): local ``med_config.json``; None uses
            the released values (BERT-base, 30524 words).
        tokenizer (str): local ``bert-base-uncased`` folder (``vocab.txt``
            or ``tokenizer.json``).
        vision (dict, optional): ViT overrides (``width``, ``depth``,
            ``heads``, ``image_size``, ``patch_size``, ``mlp_ratio``); the
            default is the release's ViT-L/16 at 224. For tests.
        max_length (int): prompt tokens (35 in the release).
        batch_size (int): images per forward pass.
    """

    def __init__(self, checkpoint=None, med_config=None, tokenizer=None,
                 vision=None, max_length=35, batch_size=16):
        super().__init__(batch_size)
        if checkpoint is None:
            raise ConfigError('ImageRewardScore.checkpoint is required (a '
                              'local ImageReward.pt; no hub download)')
        if not osp.isfile(checkpoint):
            raise CheckpointError(f'ImageRewardScore: checkpoint file not '
                                  f'found: {checkpoint}')
        med = load_med_config(med_config)
        self.tokenizer = build_tokenizer(tokenizer, max_length)
        if len(self.tokenizer) > med['vocab_size']:
            raise ConfigError(
                f'ImageRewardScore: the tokenizer in {tokenizer} has '
                f'{len(self.tokenizer)} tokens (with [DEC], [ENC]) but the '
                f'text encoder only {med["vocab_size"]} words')
        self.max_length = int(max_length)
        self.net = ImageRewardNet(med, vision)
        load_official_weights(self.net, checkpoint)
        self.net.eval().requires_grad_(False)
        self.mean, self.std = CLIP_MEAN, CLIP_STD

    @property
    def reward_mean(self):
        """``μ`` of the standardisation (the release's constant)."""
        return self.net.mean

    @property
    def reward_std(self):
        """``σ`` of the standardisation."""
        return self.net.std

    def encode(self, images, prompts):
        """Model inputs: pixels ``(N, 3, S, S)``, ids and mask ``(N, L)``."""
        device = self.device
        pixels = to_model_pixels(images, self.net.image_size, self.mean,
                                 self.std).to(device)
        ids, mask = tokenize(self.tokenizer, prompts, self.max_length)
        return pixels, ids.to(device), mask.to(device)

    def score_batch(self, images, prompts):
        return self.net(*self.encode(images, prompts))

    @torch.no_grad()
    def score_grid(self, images, prompt_lists):
        """Rewards of image ``i`` against each prompt of ``prompt_lists[i]``
        ``(N, P)``; each image goes through the ViT once and its tokens are
        shared by its P prompts (only the text encoder runs N·P times)."""
        n = len(prompt_lists)
        p = len(prompt_lists[0]) if n else 0
        if any(len(ps) != p for ps in prompt_lists):
            raise DataError('score_grid needs the same number of prompts '
                            'for every image')
        if len(images) != n:
            raise DataError(f'score_grid: {len(images)} images but {n} '
                            'prompt lists')
        if n == 0 or p == 0:
            return torch.zeros(n, 0)
        out = []
        step = max(1, self.batch_size // p)  # images per forward pass
        for i in range(0, n, step):
            pixels = to_model_pixels(images[i:i + step], self.net.image_size,
                                     self.mean, self.std).to(self.device)
            tokens = self.net.image_tokens(pixels).repeat_interleave(p, 0)
            flat = [q for ps in prompt_lists[i:i + step] for q in ps]
            ids, mask = tokenize(self.tokenizer, flat, self.max_length)
            out.append(self.net(None, ids.to(self.device),
                                mask.to(self.device), tokens).float().cpu())
        return torch.cat(out).view(n, p)


__all__ = ['ImageRewardScore', 'REWARD_MEAN', 'REWARD_STD']
