"""Masks of MetaMAE: MAE's random masking and the support mask.

Convention (MAE's): ``mask`` is ``(N, T)`` with 1 for a *masked* token (a
query of the reconstruction task) and 0 for a visible one (amortised into
the encoder latent Z_x). Everything is batched tensor work: no loop over
samples or tokens.
"""
import torch
import torch.nn.functional as F

from rgl.utils.errors import ConfigError


def check_ratio(value, key):
    """``value`` must be a float in [0, 1); raise ConfigError naming ``key``
    otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0 <= value < 1:
        raise ConfigError(f'{key} must be a number in [0, 1), got {value!r}')
    return float(value)


def random_masking(num, num_tokens, mask_ratio, device=None, noise=None):
    """MAE's per-sample random masking.

    Each sample keeps ``K = int(T · (1 − mask_ratio))`` tokens, the ones with
    the smallest ``noise`` (uniform draws ``(N, T)``, drawn here when not
    given).

    Returns:
        tuple: ``ids_keep`` (N, K) indices of the visible tokens,
        ``ids_restore`` (N, T) the inverse permutation (to put the decoder's
        sequence back in grid order), ``mask`` (N, T) with 1 = masked.
    """
    keep = int(num_tokens * (1 - mask_ratio))
    if keep < 1:
        raise ConfigError(
            f'mask_ratio={mask_ratio} leaves no visible token out of '
            f'{num_tokens}: lower model.mask_ratio')
    if noise is None:
        noise = torch.rand(num, num_tokens, device=device)
    ids_shuffle = noise.argsort(dim=1)
    ids_restore = ids_shuffle.argsort(dim=1)
    mask = (ids_restore >= keep).to(noise.dtype)
    return ids_shuffle[:, :keep], ids_restore, mask


def nearby_mask(mask, grid):
    """Masked tokens with at least one visible neighbour on the token grid.

    Neighbours are the previous/next token of a 1-D grid (``grid = (T,)``)
    or the 4 tokens above, below, left and right on a 2-D grid
    (``grid = (H', W')``), as MetaMAE. Returns a float ``(N, T)`` 0/1 mask.
    """
    visible = (1 - mask).to(torch.float32)
    n = mask.shape[0]
    if len(grid) == 1:
        kernel = visible.new_ones(1, 1, 3)
        hits = F.conv1d(visible.reshape(n, 1, grid[0]), kernel, padding=1)
    elif len(grid) == 2:
        kernel = visible.new_tensor([[0., 1., 0.], [1., 1., 1.], [0., 1., 0.]])
        hits = F.conv2d(visible.reshape(n, 1, *grid), kernel[None, None],
                        padding=1)
    else:
        raise ConfigError(f'token grid must be 1-D or 2-D, got {grid}')
    return (mask * (hits.reshape(n, -1) > 0)).to(mask.dtype)


def support_mask(mask, grid, s_ratio, rand=None):
    """MetaMAE's support set of the inner step.

    ``support = mask · nearby · [u < s_ratio] + (1 − mask)`` with ``u``
    uniform ``(N, T)``: every visible token, plus each masked token next to
    a visible one with probability ``s_ratio``.
    """
    if rand is None:
        rand = torch.rand(mask.shape, device=mask.device)
    extra = nearby_mask(mask, grid) * (rand < s_ratio)
    return extra + (1 - mask)
