"""Stochastic gradient Langevin dynamics (SGLD) for energy-based models.

One step of the CLEL sampler (Lee et al., ICLR 2023) on an energy
:math:`E_\\theta(x)`::

    x <- clamp(x - a * grad_x E(x) + s * eps, 0, 1),   eps ~ N(0, I)

with step size ``a = 100``, noise scale ``s = 0.001`` and 60 steps in the
paper's configs (the official code passes ``step_clip = a``, so the gradient
clip is effectively off; :class:`SGLDSampler` keeps it off by default).

The sampler is stateless: the replay buffer lives with the model
(:class:`rgl.models.energy.ReplayBuffer`). The noise is either drawn from a
``torch.Generator`` (training) or, given ``item_ids``, from a counter-based
hash of ``(seed, item, step, element)`` (:func:`item_normal`), so that a
sample never depends on the batch it was drawn in, the number of processes
or a resume — all on the device, without a Python loop over items.
"""
import math

import torch

from rgl.registry import SAMPLERS
from rgl.utils.errors import ConfigError

_MASK32 = 0xFFFFFFFF


def _hash32(x):
    """Integer hash (lowbias32) of int64 tensors holding 32-bit values."""
    x = x & _MASK32
    x = x ^ (x >> 16)
    x = (x * 0x7feb352d) & _MASK32
    x = x ^ (x >> 15)
    x = (x * 0x846ca68b) & _MASK32
    return x ^ (x >> 16)


def _item_keys(seed, item_ids, stream):
    """One 32-bit key per item for the noise ``stream`` (e.g. a step)."""
    ids = torch.as_tensor(item_ids, dtype=torch.int64)
    k = _hash32(ids + _hash32(torch.full_like(ids, int(seed) & _MASK32)))
    return _hash32(k ^ _hash32(torch.full_like(ids, int(stream) & _MASK32)
                               + 0x9e3779b9))


def item_uniform(seed, item_ids, stream, shape, device=None, pair=0):
    """U(0, 1) numbers of shape ``(len(item_ids), *shape)``; row i depends
    only on ``(seed, item_ids[i], stream)``, never on the other rows."""
    keys = _item_keys(seed, item_ids, stream).to(device)
    numel = math.prod(shape)
    counter = torch.arange(numel, device=keys.device, dtype=torch.int64)
    bits = _hash32(keys[:, None] + _hash32(counter * 2 + pair + 1))
    u = (bits.to(torch.float64) + 0.5) / 4294967296.0
    return u.view(len(keys), *shape)


def item_normal(seed, item_ids, stream, shape, device=None,
                dtype=torch.float32):
    """N(0, 1) numbers per item (Box-Muller on two :func:`item_uniform`
    draws); see :func:`item_uniform`."""
    u1 = item_uniform(seed, item_ids, stream, shape, device, pair=0)
    u2 = item_uniform(seed, item_ids, stream, shape, device, pair=1)
    z = torch.sqrt(-2 * torch.log(u1)) * torch.cos(2 * math.pi * u2)
    return z.to(dtype)


@SAMPLERS.register_module()
class SGLDSampler:
    """Short-run SGLD on an energy, in pixel space [0, 1].

    Args:
        num_steps (int): number of Langevin steps K (paper: 60).
        step_size (float): gradient step a (paper: 100).
        noise (float): standard deviation s of the added noise (paper:
            0.001).
        grad_clip (float, optional): clip each gradient entry to
            ``[-grad_clip, grad_clip]``; None (the paper's effective
            setting) does not clip.
        clamp (tuple, optional): the box the chain stays in; None for none.
    """

    def __init__(self, num_steps=60, step_size=100.0, noise=0.001,
                 grad_clip=None, clamp=(0.0, 1.0)):
        if int(num_steps) < 1:
            raise ConfigError(
                f'SGLDSampler.num_steps must be >= 1, got {num_steps}')
        if not float(step_size) > 0:
            raise ConfigError(
                f'SGLDSampler.step_size must be > 0, got {step_size}')
        if not float(noise) >= 0:
            raise ConfigError(
                f'SGLDSampler.noise must be >= 0, got {noise}')
        if grad_clip is not None and not float(grad_clip) > 0:
            raise ConfigError(
                f'SGLDSampler.grad_clip must be > 0 or None, got {grad_clip}')
        self.num_steps = int(num_steps)
        self.step_size = float(step_size)
        self.noise = float(noise)
        self.grad_clip = None if grad_clip is None else float(grad_clip)
        self.clamp = None if clamp is None else tuple(map(float, clamp))

    def __repr__(self):
        return (f'SGLDSampler(num_steps={self.num_steps}, '
                f'step_size={self.step_size}, noise={self.noise})')

    def step(self, x, grad, eps):
        """One Langevin update of ``x`` given ``grad = dE/dx`` and standard
        normal ``eps``."""
        if self.grad_clip is not None:
            grad = grad.clamp(-self.grad_clip, self.grad_clip)
        x = x - self.step_size * grad + self.noise * eps
        if self.clamp is not None:
            x = x.clamp(*self.clamp)
        return x

    def __call__(self, energy_fn, x, item_ids=None, seed=0, generator=None,
                 step_offset=0):
        """Run the chain from ``x`` and return the final (detached) state.

        Args:
            energy_fn (callable): maps ``(N, ...)`` to per-sample energies
                ``(N, )``; its gradient drives the chain.
            x (Tensor): the initial state.
            item_ids (Tensor, optional): global indices of the items; when
                given, step t's noise of item i is
                ``item_normal(seed, i, step_offset + t)``.
            seed (int): seed of the per-item noise.
            generator (torch.Generator, optional): otherwise, the noise
                source (on x's device).
            step_offset (int): index of the first step (to continue a chain
                with fresh noise).
        """
        x = x.detach()
        shape = tuple(x.shape[1:])
        with torch.enable_grad():
            for t in range(self.num_steps):
                x = x.requires_grad_(True)
                energy = energy_fn(x)
                grad, = torch.autograd.grad(energy.sum(), [x])
                if item_ids is not None:
                    eps = item_normal(seed, item_ids, step_offset + t, shape,
                                      device=x.device, dtype=x.dtype)
                else:
                    eps = torch.randn(x.shape, generator=generator,
                                      device=x.device, dtype=x.dtype)
                x = self.step(x.detach(), grad.detach(), eps)
        return x.detach()
