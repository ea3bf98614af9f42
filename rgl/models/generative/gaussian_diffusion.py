"""The discrete Gaussian diffusion of DDPM/iDDPM as used by DiT.

Forward process q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I) with linear β_t;
the network predicts ε and, with a learned variance, the interpolation v of
``log Σ_θ = v log β_t + (1 − v) log β̃_t`` (Nichol & Dhariwal, 2021). The
hybrid loss is ``L_simple + L_vlb`` with the mean frozen inside L_vlb.
"""
import math

import numpy as np
import torch

from rgl.utils.errors import ConfigError


def linear_betas(num_timesteps):
    """DDPM's linear schedule from 1e-4 to 0.02, rescaled to T steps."""
    scale = 1000 / num_timesteps
    return np.linspace(scale * 1e-4, scale * 0.02, num_timesteps,
                       dtype=np.float64)


def _gather(arr, t, x):
    """arr[t] (float64 numpy) as a tensor broadcastable against x."""
    out = torch.from_numpy(arr).to(device=t.device)[t].to(x.dtype)
    return out.reshape(t.shape[0], *([1] * (x.dim() - 1)))


def normal_kl(mean1, logvar1, mean2, logvar2):
    """KL(N(μ₁, e^{logvar₁}) ‖ N(μ₂, e^{logvar₂})) elementwise, in nats."""
    return 0.5 * (-1.0 + logvar2 - logvar1 + torch.exp(logvar1 - logvar2) +
                  (mean1 - mean2)**2 * torch.exp(-logvar2))


def _approx_std_normal_cdf(x):
    return 0.5 * (1.0 + torch.tanh(
        math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def discretized_gaussian_log_likelihood(x, means, log_scales):
    """log p(x) of data in [−1, 1] quantised to 256 bins, per element."""
    centered = x - means
    inv_stdv = torch.exp(-log_scales)
    cdf_plus = _approx_std_normal_cdf(inv_stdv * (centered + 1.0 / 255.0))
    cdf_min = _approx_std_normal_cdf(inv_stdv * (centered - 1.0 / 255.0))
    log_cdf_plus = torch.log(cdf_plus.clamp(min=1e-12))
    log_one_minus_cdf_min = torch.log((1.0 - cdf_min).clamp(min=1e-12))
    log_delta = torch.log((cdf_plus - cdf_min).clamp(min=1e-12))
    return torch.where(
        x < -0.999, log_cdf_plus,
        torch.where(x > 0.999, log_one_minus_cdf_min, log_delta))


def mean_flat(x):
    return x.mean(dim=list(range(1, x.dim())))


class GaussianDiffusion:
    """Schedule and posterior of a T-step DDPM.

    Args:
        betas (array): β_1..β_T (float64).
        timestep_map (array, optional): for a respaced schedule, the original
            step index fed to the network for each new step.
    """

    def __init__(self, betas, timestep_map=None):
        betas = np.asarray(betas, dtype=np.float64)
        if betas.ndim != 1 or not ((betas > 0) & (betas <= 1)).all():
            raise ConfigError('diffusion betas must be a 1-D array in (0, 1]')
        self.betas = betas
        self.num_timesteps = len(betas)
        self.timestep_map = np.arange(len(betas)) if timestep_map is None \
            else np.asarray(timestep_map)
        alphas = 1.0 - betas
        self.alphas_cumprod = np.cumprod(alphas)
        self.alphas_cumprod_prev = np.append(1.0, self.alphas_cumprod[:-1])
        self.sqrt_alphas_cumprod = np.sqrt(self.alphas_cumprod)
        self.sqrt_one_minus_alphas_cumprod = np.sqrt(1 - self.alphas_cumprod)
        self.sqrt_recip_alphas_cumprod = np.sqrt(1.0 / self.alphas_cumprod)
        self.sqrt_recipm1_alphas_cumprod = np.sqrt(1.0 / self.alphas_cumprod -
                                                   1)
        # β̃_t = β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t); log clipped at t = 0 (β̃_0 = 0)
        self.posterior_variance = betas * (1.0 - self.alphas_cumprod_prev) / (
            1.0 - self.alphas_cumprod)
        self.posterior_log_variance_clipped = np.log(
            np.append(self.posterior_variance[1], self.posterior_variance[1:]))
        self.posterior_mean_coef1 = betas * np.sqrt(
            self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        self.posterior_mean_coef2 = (1.0 - self.alphas_cumprod_prev) * np.sqrt(
            alphas) / (1.0 - self.alphas_cumprod)

    @classmethod
    def linear(cls, num_timesteps=1000):
        return cls(linear_betas(num_timesteps))

    def respace(self, num_steps):
        """A schedule on ``num_steps`` evenly spaced steps of this one with
        β'_i = 1 − ᾱ_{s_i} / ᾱ_{s_{i−1}} (DiT's 250-step sampling)."""
        if not 1 <= num_steps <= self.num_timesteps:
            raise ConfigError(f'num_steps must be in 1..{self.num_timesteps},'
                              f' got {num_steps}')
        if num_steps == self.num_timesteps:
            return self
        # iDDPM's "space_timesteps" for one section: round(i·stride)
        stride = (self.num_timesteps - 1) / max(num_steps - 1, 1)
        keep = sorted({round(i * stride) for i in range(num_steps)})
        last, betas = 1.0, []
        for i in keep:
            betas.append(1 - self.alphas_cumprod[i] / last)
            last = self.alphas_cumprod[i]
        return GaussianDiffusion(np.array(betas), self.timestep_map[keep])

    def q_sample(self, x0, t, noise):
        """x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε."""
        return (_gather(self.sqrt_alphas_cumprod, t, x0) * x0 +
                _gather(self.sqrt_one_minus_alphas_cumprod, t, x0) * noise)

    def q_posterior(self, x0, x_t, t):
        """Mean and log-variance of q(x_{t−1} | x_t, x_0)."""
        mean = (_gather(self.posterior_mean_coef1, t, x_t) * x0 +
                _gather(self.posterior_mean_coef2, t, x_t) * x_t)
        return mean, _gather(self.posterior_log_variance_clipped, t, x_t)

    def predict_x0(self, x_t, t, eps):
        return (_gather(self.sqrt_recip_alphas_cumprod, t, x_t) * x_t -
                _gather(self.sqrt_recipm1_alphas_cumprod, t, x_t) * eps)

    def p_mean_variance(self, model_out, x_t, t, clip_denoised=False):
        """μ_θ, log Σ_θ and x̂_0 from the network output (N, 2C) = (ε, v)
        or (N, C) = ε with the fixed variance β̃_t."""
        c = x_t.shape[1]
        if model_out.shape[1] == 2 * c:
            eps, v = model_out[:, :c], model_out[:, c:]
            min_log = _gather(self.posterior_log_variance_clipped, t, x_t)
            max_log = _gather(np.log(self.betas), t, x_t)
            frac = (v + 1) / 2
            log_var = frac * max_log + (1 - frac) * min_log
        else:
            eps = model_out
            log_var = _gather(self.posterior_log_variance_clipped, t, x_t)
        x0 = self.predict_x0(x_t, t, eps)
        if clip_denoised:
            x0 = x0.clamp(-1, 1)
        mean, _ = self.q_posterior(x0, x_t, t)
        return mean, log_var, x0, eps

    def vlb_terms(self, model_out, x0, x_t, t):
        """L_vlb per sample in bits/dim: KL(q(x_{t−1}|x_t,x_0) ‖ p_θ) for
        t > 0 and the discretised decoder NLL at t = 0."""
        true_mean, true_log_var = self.q_posterior(x0, x_t, t)
        mean, log_var, _, _ = self.p_mean_variance(model_out, x_t, t)
        kl = mean_flat(normal_kl(true_mean, true_log_var, mean, log_var))
        nll = -mean_flat(discretized_gaussian_log_likelihood(
            x0, mean, 0.5 * log_var))
        return torch.where(t == 0, nll, kl) / math.log(2.0)

    def hybrid_loss(self, model_out, x0, x_t, t, noise):
        """``dict(loss_mse, loss_vlb)``: ‖ε − ε_θ‖² (mean over dims) and,
        for a learned variance, L_vlb with μ_θ's gradient stopped (iDDPM's
        hybrid objective as DiT trains it)."""
        c = x_t.shape[1]
        losses = dict(loss_mse=mean_flat((noise - model_out[:, :c])**2).mean())
        if model_out.shape[1] == 2 * c:
            frozen = torch.cat([model_out[:, :c].detach(), model_out[:, c:]],
                               dim=1)
            losses['loss_vlb'] = self.vlb_terms(frozen, x0, x_t, t).mean()
        return losses
