"""Classifier-free guidance with a guidance interval (Ho & Salimans, 2022;
Kynkäänniemi et al., 2024), batched into one network call."""
import torch


def guidance_active(t, scale, interval):
    """Guidance applies at normalised time t when ``scale != 1`` and
    ``low ≤ t ≤ high`` (t = 1 is noise, so ``high = 0.7`` leaves the noisiest
    30 % unguided, as in REPA's evaluation)."""
    low, high = interval
    return scale != 1.0 and low <= float(t) <= high


def guided_call(model_fn, x, t, y, null_label, scale, active,
                guided_channels=None):
    """``u + s·(c − u)`` of the conditional (label y) and unconditional
    (label ∅) outputs, computed as one batch of 2N.

    Args:
        model_fn: ``f(x, t, y) -> (N, C', H, W)``.
        t (Tensor): (N,) times in the model's own units.
        guided_channels (int, optional): guide only the first channels and
            keep the rest from the conditional half (DiT's learned-variance
            channels are not guided).
    """
    if not active:
        return model_fn(x, t, y)
    out = model_fn(torch.cat([x, x]), torch.cat([t, t]),
                   torch.cat([y, torch.full_like(y, null_label)]))
    cond, uncond = out.chunk(2)
    if guided_channels is None:
        return uncond + scale * (cond - uncond)
    k = guided_channels
    mixed = uncond[:, :k] + scale * (cond[:, :k] - uncond[:, :k])
    return torch.cat([mixed, cond[:, k:]], dim=1)


def progress(iterable, enabled, desc):
    if not enabled:
        return iterable
    from tqdm import tqdm
    return tqdm(iterable, desc=desc, leave=False)


def randn_like(x, generator=None):
    """Standard normal noise shaped like x, drawn from ``generator`` (on its
    own device) so a fixed seed reproduces across devices."""
    if generator is None:
        return torch.randn_like(x)
    return torch.randn(x.shape, generator=generator, device=generator.device,
                       dtype=x.dtype).to(x.device)
