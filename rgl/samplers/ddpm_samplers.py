"""Ancestral DDPM and DDIM sampling of an ε-prediction network (DiT)."""
import torch

from rgl.registry import SAMPLERS
from rgl.utils.errors import ConfigError
from .guidance import guidance_active, guided_call, progress, randn_like


def ddpm_step(mean, log_var, t, noise):
    """x_{t−1} = μ_θ + exp(½ log Σ_θ) z, with no noise at the last step."""
    return mean + (t > 0).to(mean.dtype) * torch.exp(0.5 * log_var) * noise


def ddim_step(x0, eps, alpha_bar_prev, alpha_bar, eta, noise):
    """x_{t−1} = √ᾱ_{t−1} x̂_0 + √(1 − ᾱ_{t−1} − σ²) ε̂ + σ z with
    σ = η √((1 − ᾱ_{t−1})/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_{t−1}) (Song et al.)."""
    sigma = eta * ((1 - alpha_bar_prev) / (1 - alpha_bar) *
                   (1 - alpha_bar / alpha_bar_prev))**0.5
    return (alpha_bar_prev**0.5 * x0 +
            (1 - alpha_bar_prev - sigma**2)**0.5 * eps + sigma * noise)


class DiffusionSampler:
    """Shared config: ``num_steps`` (respaced from the training schedule),
    ``cfg_scale`` and ``guidance_interval`` in normalised time t/T."""

    def __init__(self, num_steps=250, cfg_scale=1.0,
                 guidance_interval=(0.0, 1.0), clip_denoised=False):
        if int(num_steps) < 1:
            raise ConfigError(f'sampler.num_steps must be >= 1, got '
                              f'{num_steps}')
        self.num_steps = int(num_steps)
        self.cfg_scale = float(cfg_scale)
        self.guidance_interval = tuple(guidance_interval)
        self.clip_denoised = clip_denoised

    def model_output(self, model_fn, x, i, y, null_label, spaced, full_T):
        t_model = int(spaced.timestep_map[i])
        tt = torch.full((x.shape[0], ), t_model, device=x.device,
                        dtype=torch.float32)
        active = guidance_active(t_model / full_T, self.cfg_scale,
                                 self.guidance_interval)
        return guided_call(model_fn, x, tt, y, null_label, self.cfg_scale,
                           active, guided_channels=x.shape[1])

    def _check(self, process):
        if process is None or not hasattr(process, 'respace'):
            raise ConfigError(f'{type(self).__name__} needs `process`, the '
                              'model\'s GaussianDiffusion')


@SAMPLERS.register_module()
class DDPMSampler(DiffusionSampler):
    """Ancestral sampling with the learned variance (DiT: 250 steps)."""

    @torch.no_grad()
    def __call__(self, model_fn, noise, labels, null_label, process=None,
                 generator=None, show_progress=False):
        self._check(process)
        spaced = process.respace(self.num_steps)
        x = noise
        for i in progress(reversed(range(spaced.num_timesteps)),
                          show_progress, 'DDPM'):
            t = torch.full((x.shape[0], ), i, device=x.device,
                           dtype=torch.long)
            out = self.model_output(model_fn, x, i, labels, null_label,
                                    spaced, process.num_timesteps)
            mean, log_var, _, _ = spaced.p_mean_variance(
                out, x, t, self.clip_denoised)
            x = ddpm_step(mean, log_var, t.reshape(-1, 1, 1, 1),
                          randn_like(x, generator))
        return x


@SAMPLERS.register_module()
class DDIMSampler(DiffusionSampler):
    """DDIM (η = 0: deterministic) on a respaced schedule."""

    def __init__(self, num_steps=50, eta=0.0, **kwargs):
        super().__init__(num_steps, **kwargs)
        self.eta = float(eta)

    @torch.no_grad()
    def __call__(self, model_fn, noise, labels, null_label, process=None,
                 generator=None, show_progress=False):
        self._check(process)
        spaced = process.respace(self.num_steps)
        x = noise
        for i in progress(reversed(range(spaced.num_timesteps)),
                          show_progress, 'DDIM'):
            t = torch.full((x.shape[0], ), i, device=x.device,
                           dtype=torch.long)
            out = self.model_output(model_fn, x, i, labels, null_label,
                                    spaced, process.num_timesteps)
            _, _, x0, eps = spaced.p_mean_variance(out, x, t,
                                                   self.clip_denoised)
            # ε consistent with a possibly clipped x̂_0
            eps = (spaced.sqrt_recip_alphas_cumprod[i] * x - x0) / \
                spaced.sqrt_recipm1_alphas_cumprod[i]
            x = ddim_step(x0, eps, spaced.alphas_cumprod_prev[i],
                          spaced.alphas_cumprod[i], self.eta,
                          randn_like(x, generator))
        return x
