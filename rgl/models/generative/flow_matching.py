"""Flow matching with stochastic interpolants (SiT; REPA's training)."""
import torch

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError
from .base import GenerativeAlgorithm
from .interpolants import build_interpolant, sample_time


@MODELS.register_module()
class FlowMatching(GenerativeAlgorithm):
    """Train v_θ(x_t, t, y) to the interpolant's velocity:

        t ~ p(t),  ε ~ N(0, I),  x_t = α_t x + σ_t ε,
        L = E ‖v_θ(x_t, t, y) − (α'_t x + σ'_t ε)‖²  (+ λ L_REPA).

    Args:
        path (str | dict): ``'linear'`` (α_t = 1 − t, σ_t = t) or
            ``'cosine'``.
        weighting (str): time distribution, ``'uniform'`` or
            ``'lognormal'``.
        prediction (str): only ``'v'`` (velocity), as REPA.
        data_at_one (bool): the backbone was trained with SiT's own time
            convention (t = 1 is data, velocity from noise to data), e.g. the
            official ``SiT-XL-2-256x256.pt``; times and velocities are mapped
            so samplers keep t = 1 as noise.
        **kwargs: see :class:`GenerativeAlgorithm` (backbone, aligners, vae,
            label_dropout, sampler, data_preprocessor).
    """

    default_sampler = dict(type='SDESampler', num_steps=250)

    def __init__(self, backbone, path='linear', weighting='uniform',
                 prediction='v', data_at_one=False, **kwargs):
        super().__init__(backbone, **kwargs)
        if prediction != 'v':
            raise ConfigError(f"model.prediction must be 'v' (velocity), got "
                              f'{prediction!r}')
        self.interpolant = build_interpolant(path)
        sample_time(1, weighting)  # validates the name
        self.weighting = weighting
        self.data_at_one = data_at_one

    @property
    def process(self):
        return self.interpolant

    def network(self, x, t, y):
        if self.data_at_one:
            return -self.backbone(x, 1 - t, y)
        return self.backbone(x, t, y)

    def denoising_loss(self, x, y):
        t = sample_time(x.shape[0], self.weighting, device=x.device)
        noise = torch.randn_like(x)
        x_t, v = self.interpolant.interpolate(x, noise, t)
        pred = self.network(x_t, t.to(x.dtype), y)
        err = (pred.float() - v.float())**2
        return dict(loss_denoise=err.mean(dim=list(range(1, err.dim())))
                    .mean())
