"""Samplers for velocity models v_θ(x_t, t, y), t = 1 (noise) → 0 (data).

Each sampler is a small config object; the update rules are pure step
functions that can be tested alone. The state is kept in float64 (as REPA's
samplers), the network runs in its own dtype.
"""
import torch

from rgl.models.generative.interpolants import time_shift
from rgl.registry import SAMPLERS
from rgl.utils.errors import ConfigError
from .guidance import guidance_active, guided_call, progress, randn_like


def euler_step(x, v, t_cur, t_next):
    """x_{t_next} = x_t + (t_next − t_cur) · v."""
    return x + (t_next - t_cur) * v


def heun_step(x, v_cur, v_next, t_cur, t_next):
    """Trapezoidal correction: x + Δt · (v(x, t) + v(x̃, t_next)) / 2."""
    return x + (t_next - t_cur) * 0.5 * (v_cur + v_next)


def euler_maruyama_step(x, drift, t_cur, t_next, diffusion, noise):
    """x + f·Δt + √w · √|Δt| · z for the reverse-time SDE with drift f and
    diffusion coefficient w."""
    dt = t_next - t_cur
    return x + drift * dt + (diffusion * abs(dt))**0.5 * noise


class FlowSampler:
    """Shared configuration of the flow samplers.

    Args:
        num_steps (int): number of time steps.
        cfg_scale (float): guidance scale s (1 = off).
        guidance_interval (tuple): ``(low, high)`` times where CFG applies.
        time_shift (float): s of the timestep shift t' = s·t/(1 + (s−1)·t)
            applied to the time grid (1: off; s > 1 spends more steps near
            noise). LightningDiT's ``timestep_shift: 0.3`` (data-at-one
            convention) is ``time_shift=1/0.3`` here.
    """

    def __init__(self, num_steps=50, cfg_scale=1.0,
                 guidance_interval=(0.0, 1.0), time_shift=1.0):
        if int(num_steps) < 1:
            raise ConfigError(f'sampler.num_steps must be >= 1, got '
                              f'{num_steps}')
        if float(time_shift) <= 0:
            raise ConfigError(f'sampler.time_shift must be > 0, got '
                              f'{time_shift}')
        self.num_steps = int(num_steps)
        self.cfg_scale = float(cfg_scale)
        self.guidance_interval = tuple(guidance_interval)
        self.time_shift = float(time_shift)

    def shifted(self, times):
        """The time grid after the timestep shift."""
        return time_shift(times, self.time_shift)

    def velocity(self, model_fn, x, t, y, null_label):
        """The (guided) velocity at scalar time t for the float64 state x."""
        dtype = getattr(model_fn, 'dtype', torch.float32)
        tt = torch.full((x.shape[0], ), float(t), device=x.device,
                        dtype=dtype)
        active = guidance_active(t, self.cfg_scale, self.guidance_interval)
        return guided_call(model_fn, x.to(dtype), tt, y, null_label,
                           self.cfg_scale, active).to(torch.float64)


@SAMPLERS.register_module()
class ODESampler(FlowSampler):
    """Probability-flow ODE dx/dt = v_θ on ``linspace(1, 0, N+1)``: Euler,
    or Heun (2nd order on all but the last step, 2N−1 evaluations).

    Args:
        method (str): ``'euler'`` or ``'heun'``.
    """

    def __init__(self, num_steps=50, method='euler', **kwargs):
        super().__init__(num_steps, **kwargs)
        if method not in ('euler', 'heun'):
            raise ConfigError(f"ODESampler.method must be 'euler' or 'heun', "
                              f'got {method!r}')
        self.method = method

    @torch.no_grad()
    def __call__(self, model_fn, noise, labels, null_label, process=None,
                 generator=None, show_progress=False):
        times = self.shifted(
            torch.linspace(1, 0, self.num_steps + 1, dtype=torch.float64))
        x = noise.to(torch.float64)
        steps = list(zip(times[:-1].tolist(), times[1:].tolist()))
        for i, (t_cur, t_next) in enumerate(
                progress(steps, show_progress, 'ODE')):
            v = self.velocity(model_fn, x, t_cur, labels, null_label)
            x_next = euler_step(x, v, t_cur, t_next)
            if self.method == 'heun' and i < self.num_steps - 1:
                v_next = self.velocity(model_fn, x_next, t_next, labels,
                                       null_label)
                x_next = heun_step(x, v, v_next, t_cur, t_next)
            x = x_next
        return x


@SAMPLERS.register_module()
class SDESampler(FlowSampler):
    """Euler–Maruyama on the reverse SDE of the interpolant (REPA's
    evaluation sampler, 250 steps):

        dx = [v_θ − ½ w_t ∇log p_t(x)] dt + √w_t dW̄,   w_t = 2t,

    on ``linspace(1, t_last, N)`` followed by one deterministic step to 0.
    Guidance is applied to the drift.

    Args:
        t_last (float): the last stochastic time (0.04), where the score
            would otherwise blow up.
    """

    def __init__(self, num_steps=250, t_last=0.04, **kwargs):
        super().__init__(num_steps, **kwargs)
        self.t_last = float(t_last)

    def drift(self, model_fn, x, t, y, null_label, interpolant):
        dtype = getattr(model_fn, 'dtype', torch.float32)
        tt = torch.full((x.shape[0], ), float(t), device=x.device,
                        dtype=torch.float64)

        def drift_fn(x_in, t_in, y_in):
            # x_in stays float64: the score divides by small σ_t terms
            v = model_fn(x_in.to(dtype), t_in.to(dtype), y_in).to(x_in.dtype)
            score = interpolant.score_from_velocity(v, x_in, t_in)
            w = 2 * t_in.reshape(-1, *[1] * (v.dim() - 1))
            return v - 0.5 * w * score

        active = guidance_active(t, self.cfg_scale, self.guidance_interval)
        return guided_call(drift_fn, x, tt, y, null_label, self.cfg_scale,
                           active)

    @torch.no_grad()
    def __call__(self, model_fn, noise, labels, null_label, process=None,
                 generator=None, show_progress=False):
        if process is None:
            raise ConfigError('SDESampler needs `process`, the model\'s '
                              'interpolant, to turn velocities into scores')
        times = self.shifted(
            torch.linspace(1, self.t_last, self.num_steps,
                           dtype=torch.float64)).tolist() + [0.0]
        x = noise.to(torch.float64)
        steps = list(zip(times[:-2], times[1:-1]))
        for t_cur, t_next in progress(steps, show_progress, 'SDE'):
            drift = self.drift(model_fn, x, t_cur, labels, null_label,
                               process)
            x = euler_maruyama_step(x, drift, t_cur, t_next, 2 * t_cur,
                                    randn_like(x, generator))
        t_cur = times[-2]
        drift = self.drift(model_fn, x, t_cur, labels, null_label, process)
        return euler_step(x, drift, t_cur, 0.0)
