"""Kernels k(x, x') for Stein variational gradient descent.

A kernel maps ``n`` flattened particles ``x`` of shape ``(n, d)`` to the
Gram matrix ``K`` with ``K_ij = k(x_i, x_j)`` and the repulsion
``R_i = Σ_j ∇_{x_i} k(x_i, x_j)``. For a symmetric, translation-invariant
kernel such as the RBF, ``∇_{x_i} k(x_i, x_j) = −∇_{x_j} k(x_j, x_i)``, so
``R`` is minus SVGD's ``Σ_j ∇_{x_j} k(x_j, x_i)``: descending along ``R``
pushes the particles apart.
"""
import math

import torch
from torch import nn

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError


class BaseKernel(nn.Module):
    """Interface of an SVGD kernel.

    A kernel is an ``nn.Module`` whose :meth:`forward` takes the
    flattened particles and returns ``(K, R)``; register it in ``MODELS``
    and name it in ``SVGDDistiller.kernel``.
    """

    def forward(self, x):
        """``K`` ``(n, n)`` and ``R`` ``(n, d)`` with
        ``R_i = Σ_j ∇_{x_i} k(x_i, x_j)``, computed in float32."""
        raise NotImplementedError


@MODELS.register_module()
class RBFKernel(BaseKernel):
    """k(x, x') = exp(−γ‖x − x'‖²), γ = 1 / (2h²).

    With ``bandwidth='median'`` the bandwidth follows the median heuristic
    of SVGD (Liu & Wang, 2016) as CSD computes it,
    h = sqrt(0.5 · median(D²) / log(n + 1)), where the median runs over all
    n² squared distances (the zero diagonal included; the lower middle
    value when n² is even, as ``torch.median``).

    Args:
        bandwidth (str | float): ``'median'`` or a fixed h > 0.
        scale (float): multiplies γ (CSD's ``ad``), 1 by default.
        eps (float): floor of h², for particles that coincide.
    """

    def __init__(self, bandwidth='median', scale=1.0, eps=1e-12):
        super().__init__()
        if bandwidth != 'median':
            if not isinstance(bandwidth, (int, float)) or bandwidth <= 0:
                raise ConfigError(f'RBFKernel.bandwidth must be "median" or '
                                  f'a positive number, got {bandwidth!r}')
        self.bandwidth = bandwidth
        self.scale = float(scale)
        self.eps = float(eps)

    def squared_bandwidth(self, d2):
        """h² from the squared distances ``d2`` (n, n)."""
        if self.bandwidth == 'median':
            n = d2.shape[0]
            h2 = 0.5 * d2.median() / math.log(n + 1)
            return h2.clamp_min(self.eps)
        return d2.new_tensor(float(self.bandwidth)**2)

    def forward(self, x):
        x = x.flatten(1).float()
        # ‖x_i − x_j‖² expanded: one matmul, no (n, n, d) tensor
        sq = (x * x).sum(1)
        d2 = (sq[:, None] + sq[None, :] - 2 * x @ x.T).clamp_min(0)
        d2.fill_diagonal_(0)
        gamma = self.scale / (2 * self.squared_bandwidth(d2))
        K = torch.exp(-gamma * d2)
        # Σ_j −2γ K_ij (x_i − x_j) = −2γ (x_i Σ_j K_ij − (K x)_i)
        R = -2 * gamma * (x * K.sum(1, keepdim=True) - K @ x)
        return K, R


@MODELS.register_module()
class FixedRBFKernel(RBFKernel):
    """The RBF kernel with a fixed bandwidth h (no median heuristic).

    Args:
        bandwidth (float): h > 0.
        scale (float): multiplies γ = 1 / (2h²).
    """

    def __init__(self, bandwidth=1.0, scale=1.0):
        if bandwidth == 'median':
            raise ConfigError('FixedRBFKernel.bandwidth must be a number; '
                              'use RBFKernel for the median heuristic')
        super().__init__(bandwidth=bandwidth, scale=scale)
