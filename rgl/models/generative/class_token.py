"""REG's class token (Wu et al., 2025): read it from a frozen encoder, and
carry it beside the latents through the samplers.

The samplers integrate one tensor. With a class token the state is the
packed pair ``[flatten(x), z_cls]`` of shape (N, C·H·W + D_enc): the
Euler/Heun/Euler–Maruyama updates, the velocity → score conversion and
classifier-free guidance are all elementwise or per-sample, so the token is
integrated jointly with the latents, with the same times, noise scale and
guidance, as REG's sampler does.
"""
import torch

from rgl.utils.errors import ConfigError
from ..utils.feature_tap import FeatureTap


def class_token_layer(encoder):
    """The layer of ``encoder`` whose output is the whole normalised token
    sequence, class token first: ``model.norm`` of timm ViTs (DINOv2's
    ``x_norm_clstoken``), ``vit`` of mmpretrain MAEs. An encoder can name
    its own with a ``class_token_layer`` attribute."""
    name = getattr(encoder, 'class_token_layer', None)
    if isinstance(name, str):
        return name
    if getattr(encoder, 'num_prefix_tokens', 0) >= 1:
        model = getattr(encoder, 'model', None)
        if model is not None and hasattr(model, 'norm') and hasattr(
                model, 'forward_features'):
            return 'model.norm'
        if hasattr(encoder, 'vit'):
            return 'vit'
    raise ConfigError(
        f'REG needs the class token of {type(encoder).__name__}, which has '
        'no class token rgl knows how to read: use a ViT encoder with a '
        'class token (DINOv2Encoder, TimmViTEncoder, MAEEncoder), or give '
        'the encoder `forward_with_class_token(images) -> (tokens, cls)`')


@torch.no_grad()
def encode_with_class_token(encoder, images, forward=None):
    """``(tokens (N, T, D), cls (N, D))`` of images in [0, 1]: the
    encoder's usual patch tokens and its normalised class token, from one
    forward pass.

    ``forward(images) -> (tokens, extra)``, when given, is that pass
    instead of ``encoder(images)`` (HASTE's pass that also records
    attention maps), and the result is ``(tokens, cls, extra)``.
    """
    own = getattr(encoder, 'forward_with_class_token', None)
    if callable(own):
        if forward is None:
            return own(images)
        tokens, extra = forward(images)  # the encoder's own way: 2 passes
        return tokens, own(images)[1], extra
    tap = FeatureTap(encoder, class_token_layer(encoder))
    try:
        tokens, extra = (encoder(images), None) if forward is None else \
            forward(images)
        seq = tap.pop()
    finally:
        tap.remove()
    if seq.dim() != 3 or seq.shape[1] < tokens.shape[1] + 1 or \
            seq.shape[-1] != tokens.shape[-1]:
        raise ConfigError(
            f'{type(encoder).__name__}: layer {tap.name} gives shape '
            f'{tuple(seq.shape)}, not the class token plus the '
            f'{tokens.shape[1]} patch tokens')
    return (tokens, seq[:, 0]) if forward is None else \
        (tokens, seq[:, 0], extra)


def pack(x, token):
    """(N, C, H, W) and (N, D) → the joint state (N, C·H·W + D)."""
    return torch.cat([x.flatten(1), token.to(x.dtype)], dim=1)


def unpack(state, shape):
    """The joint state → ``(x, token)``, x of shape ``(N, *shape)`` and the
    token (N, D)."""
    size = 1
    for s in shape:
        size *= s
    return state[:, :size].reshape(state.shape[0], *shape), state[:, size:]
