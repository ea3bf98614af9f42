"""iREPA's spatial normalisation of the target tokens (Singh et al., 2025,
"What matters for representation alignment: global information or spatial
structure?")."""
from rgl.utils.errors import ConfigError


def spatial_normalize(z, gamma=1.0, eps=1e-6):
    """``(z − γ·μ) / (σ + ε)`` with μ and σ the mean and (unbiased) standard
    deviation of z (N, T, D) over its T tokens, per image and channel.

    Removing (part of) the component that every token shares leaves the
    spatial contrast between tokens, which iREPA finds is what helps
    generation. γ = 1 is a plain z-score over tokens (zero mean and unit
    std per channel); γ = 0 only rescales to unit std. Whatever γ, the std
    over tokens is σ / (σ + ε) ≈ 1. Computed in fp32.
    """
    if z.dim() != 3:
        raise ConfigError(f'spatial_normalize expects tokens (N, T, D), got '
                          f'shape {tuple(z.shape)}')
    if z.shape[1] < 2:
        raise ConfigError('spatial_normalize needs at least 2 tokens to '
                          'take a standard deviation over them')
    z = z.float()
    mean = z.mean(dim=1, keepdim=True)
    std = z.std(dim=1, keepdim=True)
    return (z - gamma * mean) / (std + eps)


def parse_spatial_norm(cfg, owner):
    """``None`` | ``True`` | γ (float) | ``dict(gamma=..., eps=...)`` ->
    the kwargs of :func:`spatial_normalize`, or ``None`` (off)."""
    if cfg is None or cfg is False:
        return None
    if cfg is True:
        return dict(gamma=1.0, eps=1e-6)
    if isinstance(cfg, (int, float)):
        return dict(gamma=float(cfg), eps=1e-6)
    if isinstance(cfg, dict):
        unknown = set(cfg) - {'gamma', 'eps'}
        if unknown:
            raise ConfigError(f'{owner}.spatial_norm has unknown keys '
                              f'{sorted(unknown)}; use gamma and eps')
        return dict(gamma=float(cfg.get('gamma', 1.0)),
                    eps=float(cfg.get('eps', 1e-6)))
    raise ConfigError(f'{owner}.spatial_norm must be None, a float gamma or '
                      f'dict(gamma=..., eps=...), got {cfg!r}')


__all__ = ['spatial_normalize', 'parse_spatial_norm']
