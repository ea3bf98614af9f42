"""Where the IB latent and the nuisance latent come from in a backbone.

Both splits return ``(h, z_n)``: ``h`` a vector ``(N, D_h)`` from which the
stochastic IB latent ``z`` is drawn, and ``z_n`` a spatial map
``(N, C_n, h, w)`` that the decoder reads beside ``z``.
"""
import math

import torch

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError


def _last(feats):
    # mmpretrain backbones return tuples; the last stage is the output
    return feats[-1] if isinstance(feats, (tuple, list)) else feats


@MODELS.register_module()
class ChannelSplit:
    """CNNs: split the channels of the last feature map ``(N, C, H, W)``.

    The first ``C - nuisance_channels`` channels are global-average-pooled
    into ``h``; the last ``nuisance_channels`` keep their spatial layout as
    ``z_n``. The pooling is what makes ``h`` a bottleneck: it drops the
    *where*, which the nuisance map keeps for the decoder.

    Args:
        nuisance_channels (int): ``C_n``, at least 1 and below the feature
            width ``C`` (checked by :meth:`check`).
    """

    def __init__(self, nuisance_channels):
        if not isinstance(nuisance_channels, int) or nuisance_channels < 1:
            raise ConfigError('model.split.nuisance_channels must be a '
                              f'positive int, got {nuisance_channels!r}')
        self.nuisance_channels = nuisance_channels

    def check(self, feature_width):
        """Raise if the split leaves no channel to the IB latent."""
        if self.nuisance_channels >= feature_width:
            raise ConfigError(
                f'model.split.nuisance_channels={self.nuisance_channels} '
                f'must be smaller than the feature width {feature_width} of '
                'the backbone (at least one channel feeds the IB latent z)')

    def ib_dim(self, feature_width):
        return feature_width - self.nuisance_channels

    def nuisance_dim(self, feature_width):
        return self.nuisance_channels

    def __call__(self, feats):
        feats = _last(feats)
        if feats.dim() != 4:
            raise ConfigError(
                'ChannelSplit needs a 4-D feature map (N, C, H, W), got '
                f'shape {tuple(feats.shape)}; use TokenSplit for ViTs')
        self.check(feats.shape[1])
        k = feats.shape[1] - self.nuisance_channels
        return feats[:, :k].mean(dim=(2, 3)), feats[:, k:]


@MODELS.register_module()
class TokenSplit:
    """ViTs: the class token is ``h``, the patch tokens are ``z_n``.

    Tokens ``(N, P + T, D)`` (``P`` prefix tokens: class, registers) give
    ``h = tokens[:, 0]`` and the ``T`` patch tokens, laid back on their
    ``sqrt(T) x sqrt(T)`` grid, as ``z_n`` ``(N, D, g, g)``.

    Args:
        num_prefix_tokens (int): ``P`` (1 for a class token only).
    """

    def __init__(self, num_prefix_tokens=1):
        if not isinstance(num_prefix_tokens, int) or num_prefix_tokens < 1:
            raise ConfigError('model.split.num_prefix_tokens must be an int '
                              f'>= 1 (the class token), got '
                              f'{num_prefix_tokens!r}')
        self.num_prefix_tokens = num_prefix_tokens

    def check(self, feature_width):
        pass

    def ib_dim(self, feature_width):
        return feature_width

    def nuisance_dim(self, feature_width):
        return feature_width

    def __call__(self, feats):
        tokens = _last(feats)
        if tokens.dim() != 3:
            raise ConfigError(
                'TokenSplit needs tokens (N, T, D), got shape '
                f'{tuple(tokens.shape)} (mmpretrain ViTs: out_type="raw")')
        n, t, d = tokens.shape
        patches = tokens[:, self.num_prefix_tokens:]
        grid = math.isqrt(patches.shape[1])
        if grid * grid != patches.shape[1]:
            raise ConfigError(
                f'TokenSplit: {patches.shape[1]} patch tokens (after '
                f'{self.num_prefix_tokens} prefix tokens of {t}) do not form '
                'a square grid; check model.split.num_prefix_tokens')
        z_n = patches.transpose(1, 2).reshape(n, d, grid, grid)
        return tokens[:, 0], torch.Tensor.contiguous(z_n)
