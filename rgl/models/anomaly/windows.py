"""Sliding windows on the ViT token grid and harmonic aggregation."""
import torch
import torch.nn.functional as F


def window_indices(grid, kernel, stride=1):
    """Patch indices of every ``kernel x kernel`` window on a ``grid``
    token grid (row-major), shape ``(num_windows, kernel**2)``.

    A 15x15 grid gives 196 windows of 2x2 and 169 of 3x3 at stride 1.
    """
    h, w = grid
    ids = torch.arange(h * w, dtype=torch.float32).view(1, 1, h, w)
    cols = F.unfold(ids, kernel_size=kernel, stride=stride)  # (1, k², Nw)
    return cols[0].t().long().contiguous()


def coverage_matrix(indices, num_patches):
    """Binary ``(num_windows, num_patches)``: window ``w`` covers patch
    ``p``."""
    cover = torch.zeros(indices.shape[0], num_patches)
    cover.scatter_(1, indices, 1.0)
    return cover


def harmonic_aggregation(window_scores, coverage, eps=1e-12):
    """Per-patch harmonic mean of the scores of the windows covering it.

    ``M[p] = |W_p| / Σ_{w ∈ W_p} 1 / s_w`` for ``window_scores`` ``(B, Nw)``
    and ``coverage`` ``(Nw, L)``; one matrix product, no loop over patches.
    A window scored 0 pulls its patches to 0, the limit of the harmonic
    mean (``eps`` keeps the division finite).
    """
    inv = window_scores.clamp_min(eps).reciprocal()
    counts = coverage.sum(0)
    return counts / (inv @ coverage)


def harmonic_mean(maps, eps=1e-12):
    """Harmonic mean over the first dimension of stacked maps."""
    return maps.shape[0] / maps.clamp_min(eps).reciprocal().sum(0)
