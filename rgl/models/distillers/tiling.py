"""Overlapping latent windows as SVGD particles (panorama editing).

A wide latent ``(C, H, W)`` is cut into ``window × window`` views with a
given stride; every step scores a batch of views as particles and writes
their gradients back, averaged where views overlap. Gathering and
scattering are single indexing / ``index_add_`` calls, no loop over views.
"""
import torch

from rgl.utils.errors import ConfigError


def _starts(size, window, stride):
    """Window starts along one axis: every ``stride``, plus one flush
    with the far edge when the stride does not land there, so every
    position is covered."""
    if window > size:
        raise ConfigError(f'window {window} is larger than the latent side '
                          f'{size}')
    starts = list(range(0, size - window + 1, stride))
    if starts[-1] != size - window:
        starts.append(size - window)
    return starts


def window_views(height, width, window=64, stride=16):
    """``(V, 2)`` long tensor of the (top, left) corners of the views of an
    ``height × width`` latent, row-major."""
    if window < 1 or stride < 1:
        raise ConfigError(f'window ({window}) and stride ({stride}) must be '
                          '>= 1')
    tops = torch.tensor(_starts(height, window, stride))
    lefts = torch.tensor(_starts(width, window, stride))
    grid = torch.stack(torch.meshgrid(tops, lefts, indexing='ij'), -1)
    return grid.reshape(-1, 2)


def _flat_index(views, window, width):
    """``(V, window, window)`` indices of each view's pixels in the
    flattened ``H·W`` plane."""
    offs = torch.arange(window, device=views.device)
    rows = views[:, 0, None] + offs  # (V, w)
    cols = views[:, 1, None] + offs
    return rows[:, :, None] * width + cols[:, None, :]


def gather_windows(latent, views, window):
    """Views ``(V, C, window, window)`` of ``latent`` ``(C, H, W)``."""
    c, _, w = latent.shape
    idx = _flat_index(views.to(latent.device), window, w)
    flat = latent.reshape(c, -1)[:, idx.reshape(-1)]
    return flat.reshape(c, len(views), window, window).transpose(0, 1)


def scatter_average(values, views, shape):
    """Average the views ``values`` ``(V, C, window, window)`` into a
    ``shape`` = ``(C, H, W)`` tensor; pixels no view covers stay 0."""
    c, h, w = shape
    window = values.shape[-1]
    idx = _flat_index(views.to(values.device), window, w).reshape(-1)
    total = values.new_zeros(c, h * w)
    total.index_add_(1, idx, values.transpose(0, 1).reshape(c, -1))
    count = values.new_zeros(h * w)
    count.index_add_(0, idx, torch.ones_like(idx, dtype=values.dtype))
    out = torch.where(count > 0, total / count.clamp_min(1), total)
    return out.reshape(c, h, w)


def region_weights(views, window, width, num_prompts):
    """``(V, P)`` weights of P left-to-right region prompts for each view.

    Prompt p is anchored at the centre of the p-th of P equal vertical
    bands; a view takes the prompts of the two anchors around its centre,
    linearly interpolated (the outer half-bands take their prompt alone),
    so the weights of each view sum to 1 and change smoothly across the
    panorama, in the spirit of CSD's region tables.
    """
    centre = views[:, 1].float() + window / 2
    anchors = (torch.arange(num_prompts).float() + 0.5) * width / num_prompts
    pos = ((centre - anchors[0]) / (width / num_prompts)).clamp(
        0, num_prompts - 1)
    lo = pos.floor().long().clamp(max=num_prompts - 1)
    hi = (lo + 1).clamp(max=num_prompts - 1)
    frac = pos - lo.float()
    w = torch.zeros(len(views), num_prompts)
    w.scatter_add_(1, lo[:, None], (1 - frac)[:, None])
    w.scatter_add_(1, hi[:, None], frac[:, None])
    return w
