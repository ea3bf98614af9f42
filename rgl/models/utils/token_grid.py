"""Bring a backbone's hidden state and an encoder's tokens onto one grid."""
import math
import warnings

import torch.nn.functional as F

from rgl.utils.errors import ConfigError


def as_tokens(hidden):
    """Hidden state → tokens (N, T, D): ViT/SiT outputs pass through, CNN
    feature maps (N, C, H, W) are flattened row-major to H·W tokens."""
    if hidden.dim() == 3:
        return hidden
    if hidden.dim() == 4:
        return hidden.flatten(2).transpose(1, 2)
    raise ConfigError(f'the tapped layer returns a {hidden.dim()}-D tensor '
                      f'of shape {tuple(hidden.shape)}; an aligner needs '
                      'tokens (N, T, D) or a feature map (N, C, H, W)')


def square_side(num_tokens):
    side = math.isqrt(num_tokens)
    return side if side * side == num_tokens else None


def describe_grid(num_tokens):
    side = square_side(num_tokens)
    return (f'{side}x{side} tokens' if side else
            f'{num_tokens} tokens (not a square grid)')


#: (owner, encoder tokens, backbone tokens) already warned about
_WARNED = set()


def match_token_grid(z, num_tokens, owner='encoder', warn=True):
    """Resample tokens z (N, T_e, D) to ``num_tokens`` tokens.

    Equal counts pass through. Otherwise both must be square grids: the
    encoder grid is area-averaged (down) or bilinearly interpolated (up) to
    the backbone's, so token i of both still covers the same image region
    (e.g. 16 x 16 DINOv2 tokens against an 8 x 8 SiT grid). Resampling
    changes the targets (REPA itself matches the grids by the encoder's
    input size), so it is announced once per owner and pair of grids
    unless ``warn=False``; aligners refuse it unless configured
    (``REPAAligner.resample_tokens``).
    """
    t_e = z.shape[1]
    if t_e == num_tokens:
        return z
    g_e, g_b = square_side(t_e), square_side(num_tokens)
    if g_e is None or g_b is None:
        raise ConfigError(
            f'{owner} gives {describe_grid(t_e)} and the backbone '
            f'{describe_grid(num_tokens)}: the token grids cannot be matched '
            '(both must be equal, or square grids to resample; set the '
            'encoder\'s grid_size to the backbone\'s grid)')
    key = (owner, t_e, num_tokens)
    if warn and key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(
            f'{owner}: resampling {g_e}x{g_e} encoder tokens to the '
            f'backbone\'s {g_b}x{g_b} grid ('
            f'{"area average" if g_b < g_e else "bilinear"}); set the '
            f'encoder\'s grid_size={g_b} to feed it the matching input '
            'size instead', stacklevel=2)
    grid = z.transpose(1, 2).reshape(z.shape[0], z.shape[2], g_e, g_e)
    if g_b < g_e:
        grid = F.adaptive_avg_pool2d(grid, g_b)
    else:
        grid = F.interpolate(grid, size=(g_b, g_b), mode='bilinear',
                             align_corners=False)
    return grid.flatten(2).transpose(1, 2)
