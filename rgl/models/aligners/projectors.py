"""Projectors h_φ from a backbone's hidden tokens to an encoder's width."""
from torch import nn

from rgl.utils.errors import ConfigError
from ..utils.token_grid import square_side


def build_mlp_projector(in_dim, projector_dim, out_dim):
    """h_φ: Linear(D→2048)–SiLU–Linear(2048→2048)–SiLU–Linear(2048→D_enc),
    applied to every token (REPA's 3-layer MLP)."""
    return nn.Sequential(
        nn.Linear(in_dim, projector_dim), nn.SiLU(),
        nn.Linear(projector_dim, projector_dim), nn.SiLU(),
        nn.Linear(projector_dim, out_dim))


class ConvProjector(nn.Module):
    """iREPA's projector: one ``Conv2d(D → D_enc, k, padding=k//2)`` on the
    token grid, so that each projected token also sees its neighbours.

    Tokens (N, T, D) with T = g² are laid out row-major on a g x g grid
    (the patch order of SiT/DiT and of the ViT encoders); feature maps
    (N, D, H, W) are convolved as they are. Returns tokens (N, T, D_enc).
    """

    def __init__(self, in_dim, out_dim, kernel_size=3):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ConfigError(f'ConvProjector.kernel_size must be odd (the '
                              f'grid keeps its size), got {kernel_size}')
        self.conv = nn.Conv2d(in_dim, out_dim, kernel_size,
                              padding=kernel_size // 2)

    def forward(self, x):
        if x.dim() == 3:
            n, t, d = x.shape
            side = square_side(t)
            if side is None:
                raise ConfigError(f'ConvProjector needs a square token grid, '
                                  f'got {t} tokens')
            x = x.transpose(1, 2).reshape(n, d, side, side)
        return self.conv(x).flatten(2).transpose(1, 2)


PROJECTORS = ('mlp', 'conv')


def build_projector(in_dim, projector_dim, out_dim, kind='mlp',
                    kernel_size=3):
    """``kind='mlp'``: REPA's 3-layer MLP (``projector_dim`` hidden);
    ``kind='conv'``: iREPA's :class:`ConvProjector` (``kernel_size``)."""
    if kind == 'mlp':
        return build_mlp_projector(in_dim, projector_dim, out_dim)
    if kind == 'conv':
        return ConvProjector(in_dim, out_dim, kernel_size)
    raise ConfigError(f'projector must be one of {PROJECTORS}, got {kind!r}')
