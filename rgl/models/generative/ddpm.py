"""DDPM training as in DiT (Peebles & Xie, 2023)."""
import torch

from rgl.registry import MODELS
from .base import GenerativeAlgorithm
from .gaussian_diffusion import GaussianDiffusion


@MODELS.register_module()
class DDPM(GenerativeAlgorithm):
    """Train ε_θ(x_t, t, y) (and Σ_θ) on a T-step linear-β diffusion:

        t ~ U{0..T−1},  x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε,
        L = ‖ε − ε_θ‖² + L_vlb  (+ λ L_REPA).

    Args:
        num_timesteps (int): T (1000).
        **kwargs: see :class:`GenerativeAlgorithm`; the backbone is
            typically ``dict(type='DiT', learn_sigma=True)``. Without a learned
            variance the loss is ``L_simple`` and sampling uses β̃_t.
    """

    default_sampler = dict(type='DDPMSampler', num_steps=250)

    def __init__(self, backbone, num_timesteps=1000, **kwargs):
        super().__init__(backbone, **kwargs)
        self.diffusion = GaussianDiffusion.linear(num_timesteps)

    @property
    def process(self):
        return self.diffusion

    def denoising_loss(self, x, y):
        t = torch.randint(0, self.diffusion.num_timesteps, (x.shape[0], ),
                          device=x.device)
        noise = torch.randn_like(x)
        x_t = self.diffusion.q_sample(x, t, noise)
        out = self.backbone(x_t, t.to(x.dtype), y).float()
        return self.diffusion.hybrid_loss(out, x.float(), x_t.float(), t,
                                          noise.float())
