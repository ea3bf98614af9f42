"""Frozen representation encoders: images in [0, 1] -> patch tokens.

Every encoder here follows one contract (docs/architecture.md):
``encoder(x)`` with ``x`` of shape (N, C, H, W) in [0, 1] (C = 1 is repeated
to 3) returns the patch tokens ``y* `` of shape (N, T, D), without class or
register tokens, computed under ``no_grad`` in eval mode; ``embed_dim`` is D.
Each encoder resizes and normalises the input itself, and its token grid is
set by ``grid_size`` (or ``input_size``): REPA feeds 224² images to a
patch-14 DINOv2 so that its 16 x 16 = 256 tokens line up with SiT-XL/2's.
"""
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from rgl.utils import load_state_dict_file
from rgl.utils.assets import resolve_asset
from rgl.utils.errors import CheckpointError, ConfigError
from ..utils.token_grid import match_token_grid
from .attention import AttentionCapture, drop_prefix, pick_blocks

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def resolve_input_size(patch_size, input_size=None, grid_size=None,
                       default_grid=16, owner='encoder'):
    """The square input side: ``grid_size * patch_size``, or ``input_size``.

    Both given must agree; neither gives ``default_grid`` patches a side.
    """
    if grid_size is not None and input_size is not None \
            and grid_size * patch_size != input_size:
        raise ConfigError(
            f'{owner}: input_size={input_size} and grid_size={grid_size} '
            f'disagree for patch size {patch_size} (grid x patch must be the '
            f'input side); set only one of them')
    if input_size is None:
        input_size = (grid_size or default_grid) * patch_size
    if input_size % patch_size:
        raise ConfigError(f'{owner}: input_size={input_size} is not a '
                          f'multiple of the patch size {patch_size}')
    return int(input_size)


def check_state_dict(module, state_dict, path, owner):
    """Load ``state_dict`` strictly, or raise one :class:`CheckpointError`
    naming ``path``, ``owner`` and the first missing, unexpected or
    mis-shaped keys (the check of :mod:`rgl.utils.checkpoint`)."""
    from rgl.utils.checkpoint import compare_state_dict, describe_mismatch
    report = compare_state_dict(module, state_dict)
    if any(report):
        raise CheckpointError(
            f'{path}: checkpoint does not match the {owner} architecture '
            f'({describe_mismatch(*report)})')
    module.load_state_dict(state_dict, strict=False)  # checked above


def strip_prefix(state_dict, prefixes):
    """Keep the entries under the first of ``prefixes`` that occurs, with
    the prefix removed; the dict itself when none occurs."""
    for prefix in prefixes:
        if any(k.startswith(prefix) for k in state_dict):
            return {
                k[len(prefix):]: v
                for k, v in state_dict.items() if k.startswith(prefix)
            }
    return dict(state_dict)


class FrozenEncoder(nn.Module):
    """Base of rgl's frozen encoders.

    Subclasses build their network, call :meth:`_init_preprocess` and
    implement :meth:`forward_tokens` on preprocessed input.

    Attributes:
        embed_dim (int): token dimension D.
        patch_size (int): pixels per token side.
        input_size (int): the side images are resized to.
        grid_size (int): ``input_size // patch_size`` tokens a side.
    """

    embed_dim: int
    patch_size: int

    def _init_preprocess(self, input_size, mean, std,
                         interpolation='bicubic', antialias=False):
        self.input_size = int(input_size)
        self.grid_size = self.input_size // self.patch_size
        self.interpolation = interpolation
        # REPA resizes with plain bicubic interpolation (no antialias).
        self.antialias = antialias
        self.register_buffer(
            'pixel_mean', torch.tensor(mean or (0., 0., 0.)).view(1, -1, 1, 1),
            persistent=False)
        self.register_buffer(
            'pixel_std', torch.tensor(std or (1., 1., 1.)).view(1, -1, 1, 1),
            persistent=False)

    @property
    def num_tokens(self):
        """T = grid_size²."""
        return self.grid_size**2

    def freeze(self):
        for p in self.parameters():
            p.requires_grad_(False)
        return self.eval()

    def train(self, mode=True):
        # frozen: train() of a parent model never switches dropout/BN on
        return super().train(False)

    def warn_random(self, name):
        warnings.warn(f'{name}: checkpoint=None, the encoder keeps RANDOM '
                      f'weights (fine for tests, meaningless for REPA)')

    def load_file(self, path, prefixes=()):
        """The state dict in ``path`` (rgl/mmengine/torch.hub layouts).

        A relative ``assets/...`` path missing from the working directory
        is rgl's shipped file (:func:`rgl.utils.assets.resolve_asset`).
        """
        path = resolve_asset(path)
        sd = load_state_dict_file(path)
        if not isinstance(sd, dict):
            raise CheckpointError(f'{path}: expected a state dict, got '
                                  f'{type(sd).__name__}')
        return strip_prefix(sd, prefixes)

    def preprocess(self, x):
        """[0, 1] images (or uint8 [0, 255]) -> resized, normalised
        network input."""
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise ConfigError(
                f'{type(self).__name__}: expects images (N, 1|3, H, W) in '
                f'[0, 1], got shape {tuple(x.shape)}')
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        # uint8 crops (LatentDataset's `images`) are [0, 255]
        x = x.float() / 255 if x.dtype == torch.uint8 else x.float()
        if x.shape[-2:] != (self.input_size, self.input_size):
            linear = self.interpolation in ('bilinear', 'bicubic')
            x = F.interpolate(x, size=(self.input_size, self.input_size),
                              mode=self.interpolation,
                              align_corners=False if linear else None,
                              antialias=self.antialias and linear)
        return (x - self.pixel_mean) / self.pixel_std

    def forward_tokens(self, x):
        raise NotImplementedError

    @torch.no_grad()
    def forward(self, x):
        """``y* = f(x)``: patch tokens (N, T, D) of images in [0, 1]."""
        self.eval()
        return self.forward_tokens(self.preprocess(x))

    def attention_modules(self):
        """The self-attention module of every block, in order; encoders
        that expose attention maps (HASTE's teacher) override this."""
        raise ConfigError(f'{type(self).__name__} does not expose attention '
                          'maps; HASTE needs a ViT encoder (DINOv2Encoder, '
                          'TimmViTEncoder, MAEEncoder, CLIPEncoder)')

    @torch.no_grad()
    def forward_with_attention(self, x, blocks):
        """``(y*, [S_b])``: the tokens of :meth:`forward` and, for each
        0-indexed block ``b`` in ``blocks``, its attention logits
        ``S_b = q kᵀ / √d`` (N, H, T, T) between patch tokens (class and
        register tokens removed), from the same forward pass."""
        self.eval()
        modules = pick_blocks(self.attention_modules(), blocks,
                              type(self).__name__)
        with AttentionCapture(modules) as capture:
            tokens = self.forward_tokens(self.preprocess(x))
        prefix = getattr(self, 'num_prefix_tokens', 0)
        return tokens, [drop_prefix(s, prefix) for s in capture.logits]

    def match_tokens(self, tokens, num_tokens):
        """Resample tokens to a backbone's ``num_tokens`` (square grids)."""
        return match_token_grid(tokens, num_tokens, type(self).__name__)
