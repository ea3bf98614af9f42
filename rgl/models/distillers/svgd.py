"""The SVGD distiller of Collaborative Score Distillation (Kim et al., 2023).

n particles x_1..x_n (views of a panorama, frames of a video, images of a
set) are optimised together. At each step one t ~ U[t_min, t_max] is drawn,
each particle is noised with its own ε_i (the source latent with the same
ε_i), the score source gives s_i = ε̂_tgt − ε̂_src, and the gradient that
the optimiser descends is::

    g_i = w(t) · [Σ_j K_ij s_j + Σ_j ∇_{x̃_i} K_ij] / n,

with K the kernel over the noisy target latents x̃_t and w(t) = 1 − ᾱ_t.
Since s is a *descent* direction (≈ −∇ log p), this is SVGD's
φ(x_i) = Σ_j [K_ij ∇ log p(x_j) + ∇_{x_j} K_ij] / n with the sign flipped:
the first term pulls particles along a kernel-smoothed (shared) score,
the second keeps them apart. With ``svgd=False`` each particle follows its
own w(t)·s_i (independent score distillation).
"""
import torch
from torch import nn

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError

_MIX = 1_000_003


def svgd_gradient(particles, scores, kernel, weight=1.0):
    """g_i = weight · [Σ_j K_ij s_j + Σ_j ∇_{x_i} K_ij] / n.

    Args:
        particles (Tensor): ``(n, ...)``, the points the kernel sees.
        scores (Tensor): ``(n, ...)``, the descent directions s_j.
        kernel (nn.Module): returns ``(K, R)`` (see ``kernels.py``).
        weight (float | Tensor): w(t).

    Returns:
        Tensor: g, shaped like ``scores``, float32.
    """
    n = particles.shape[0]
    K, R = kernel(particles.flatten(1).float())
    g = (K @ scores.flatten(1).float() + R) / n
    return (weight * g).view(scores.shape)


def particle_seed(seed, step, index):
    """Seed of particle ``index``'s noise at ``step``: a function of
    (seed, step, index) alone, so a result does not depend on which other
    particles share the batch, nor on a resume."""
    return ((seed * _MIX + step) * _MIX + index) % (2**63 - 1)


def step_seed(seed, step):
    """Seed of the step's shared draws (t, the window batch)."""
    return particle_seed(seed, step, 2**31)


@MODELS.register_module()
class SVGDDistiller(nn.Module):
    """Collaborative (SVGD) score distillation over a score source.

    Args:
        score_source (dict | nn.Module): e.g.
            ``dict(type='InstructPix2PixScore', pretrained=...)``.
        kernel (dict | nn.Module): the SVGD kernel, by default the RBF
            with the median heuristic.
        svgd (bool): combine the particles with SVGD; False gives
            independent score distillation w(t)·s_i.
        t_range (tuple[int]): (t_min, t_max), inclusive, in training steps
            (CSD: 20 and 500 of 1000).
        num_steps (int): optimisation steps (CSD: 200; video 100).
        lr (float): SGD learning rate (CSD: 2.0; video 0.5).
        weight_decay (float): SGD weight decay (CSD: 0).
        lr_step (int): StepLR period (CSD: 20).
        lr_gamma (float): StepLR factor (CSD: 0.9).
        seed (int): seeds t, the window batches and every particle's noise.
    """

    def __init__(self, score_source, kernel=dict(type='RBFKernel'),
                 svgd=True, t_range=(20, 500), num_steps=200, lr=2.0,
                 weight_decay=0.0, lr_step=20, lr_gamma=0.9, seed=0):
        super().__init__()
        self.score_source = (MODELS.build(score_source)
                             if isinstance(score_source, dict)
                             else score_source)
        self.kernel = MODELS.build(kernel) if isinstance(kernel,
                                                         dict) else kernel
        self.svgd = bool(svgd)
        t_min, t_max = (int(v) for v in t_range)
        steps = self.score_source.num_train_timesteps
        if not 0 <= t_min <= t_max < steps:
            raise ConfigError(f'SVGDDistiller.t_range {tuple(t_range)} is '
                              f'outside the scheduler\'s steps [0, '
                              f'{steps - 1}]')
        self.t_range = (t_min, t_max)
        if num_steps < 1:
            raise ConfigError(f'SVGDDistiller.num_steps must be >= 1, got '
                              f'{num_steps}')
        self.num_steps = int(num_steps)
        self.lr, self.weight_decay = float(lr), float(weight_decay)
        self.lr_step, self.lr_gamma = int(lr_step), float(lr_gamma)
        self.seed = int(seed)

    def check_particles(self, n):
        if self.svgd and n < 2:
            raise ConfigError(f'svgd=True needs at least two particles, got '
                              f'{n}; add images/frames/windows or set '
                              'svgd=False')

    def make_optimizer(self, params):
        """SGD and StepLR as in CSD."""
        opt = torch.optim.SGD(params, lr=self.lr,
                              weight_decay=self.weight_decay)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=self.lr_step,
                                                gamma=self.lr_gamma)
        return opt, sched

    def sample_t(self, step):
        gen = torch.Generator().manual_seed(step_seed(self.seed, step))
        return int(torch.randint(self.t_range[0], self.t_range[1] + 1, (1, ),
                                 generator=gen))

    def noise(self, step, ids, shape):
        """ε_i ``(len(ids), *shape)``, particle ``ids[k]``'s from its own
        seed."""
        out = torch.empty(len(ids), *shape)
        for k, i in enumerate(ids):  # n generators, no batch dependence
            gen = torch.Generator().manual_seed(
                particle_seed(self.seed, step, int(i)))
            out[k] = torch.randn(shape, generator=gen)
        return out

    def gradient(self, target, source, step, ids=None, prompt_weights=None):
        """The distillation gradient of the particles ``target``.

        Args:
            target (Tensor): x_i ``(n, C, h, w)``.
            source (Tensor): the source latents, same shape (ignored by
                sources that do not use them).
            step (int): the step index (seeds t and ε).
            ids (list[int], optional): the particles' identities (e.g. the
                window indices), default ``range(n)``.
            prompt_weights (Tensor, optional): ``(n, P)`` region-prompt
                weights passed to the score source.

        Returns:
            tuple: g ``(n, C, h, w)`` and t.
        """
        n = target.shape[0]
        self.check_particles(n)
        ids = range(n) if ids is None else ids
        t = self.sample_t(step)
        src = self.score_source
        eps = self.noise(step, ids, target.shape[1:]).to(target.device)
        with torch.no_grad():
            noisy = src.add_noise(target.detach().float(), eps, t)
            noisy_src = src.add_noise(source.float(), eps, t)
            kw = {} if prompt_weights is None else dict(
                prompt_weights=prompt_weights.to(target.device))
            scores = src(noisy, t, noisy_src, source.float(), noise=eps,
                         **kw)
            w = src.weight(t)
            if self.svgd:
                g = svgd_gradient(noisy, scores, self.kernel, w)
            else:
                g = w * scores
        return g, t
