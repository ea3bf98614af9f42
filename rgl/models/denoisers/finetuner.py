"""Diffusion fine-tuning for multi-scale denoised smoothing (MDDS; Jeong &
Shin, NeurIPS 2023), formulated from the paper's abstract: its code is not
released and its method section could not be read here (see
docs/methods/mdds_ftcadis.md for what was searched, the formulation and
every choice).

The goal: at every scale σ of the cascade, the denoiser D_θ should
(a) denoise *consistently* when x is recoverable from x + δ, so that the
fixed classifier f votes for y on (almost) every copy, and (b) produce
*diverse* outputs otherwise, so that f's votes spread out and the cascade
falls through to a lower σ or abstains instead of certifying a wrong class.
"""
import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import nn

from rgl.registry import MODELS
from rgl.utils.checkpoint import load_state_dict_file
from rgl.utils.errors import CheckpointError, ConfigError
from .base import DiscreteDiffusionDenoiser


def _build(cfg):
    return cfg if isinstance(cfg, nn.Module) else MODELS.build(cfg)


def calibration_losses(probs, labels):
    """The two terms of the objective on M denoised copies.

    Args:
        probs (Tensor): ``(B, M, K)`` softmax outputs ``p_i = f(D_θ(x +
            δ_i))``.
        labels (Tensor): ``(B,)`` labels y.

    Returns:
        dict: ``brier`` ``(B,)`` = ``(1/M) Σ_i ‖p_i − e_y‖²``;
        ``anti_consistency`` ``(B,)`` = ``‖p̄‖² − 1/K`` with
        ``p̄ = (1/M) Σ_i p_i`` (0 exactly when the copies' average is
        uniform); ``recoverable`` ``(B,)`` bool = ``argmax p̄ = y`` (no
        gradient).
    """
    b, m, k = probs.shape
    onehot = F.one_hot(labels, k).to(probs.dtype)[:, None]
    brier = ((probs - onehot)**2).sum(-1).mean(1)
    mean = probs.mean(1)
    anti = (mean**2).sum(-1) - 1.0 / k
    recoverable = (mean.detach().argmax(-1) == labels)
    return dict(brier=brier, anti_consistency=anti, recoverable=recoverable)


@MODELS.register_module()
class DenoiserFinetuner(BaseModel):
    """Fine-tune a diffusion denoiser against a fixed classifier.

    For an image x with label y, a scale σ drawn from ``sigmas`` and M
    copies ``δ_i ~ N(0, σ²I)``, with ``p_i = softmax f(D_θ(x + δ_i; σ))``,
    ``p̄ = mean_i p_i`` and ``r = 1[argmax p̄ = y]`` (no gradient):

        L = E[ r · (1/M) Σ_i ‖p_i − e_y‖²             (consistent, correct)
             + λ_AC (1 − r) · (‖p̄‖² − 1/K)            (diverse: p̄ → uniform)
             + λ_diff · L_diffusion ]                  (stay a diffusion model)

    ``L_diffusion`` is the model's own training loss (ε-MSE, plus L_vlb
    for a learned Σ) at uniform t.

    Args:
        denoiser (dict): a :class:`DiscreteDiffusionDenoiser` config
            (``DDPMDenoiser``, ``ADMDenoiser``, ``DiffusersDenoiser``) with
            its pretrained checkpoint; its network is trained.
        classifier (dict): the base classifier ``f`` (frozen, kept out of
            the checkpoints and the optimizer).
        classifier_checkpoint (str, optional): weights of ``f`` (strict).
        sigmas (Sequence[float]): the cascade's scales σ (on [0, 1]).
        num_noises (int): M copies per image.
        anti_consistency_weight (float): λ_AC.
        diffusion_weight (float): λ_diff.
    """

    def __init__(self, denoiser, classifier, classifier_checkpoint=None,
                 sigmas=(0.25, 0.5, 1.0), num_noises=4,
                 anti_consistency_weight=1.0, diffusion_weight=1.0,
                 data_preprocessor=None, init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ImageDataPreprocessor')
        super().__init__(data_preprocessor=_build(data_preprocessor),
                         init_cfg=init_cfg)
        self.denoiser = _build(denoiser)
        if not isinstance(self.denoiser, DiscreteDiffusionDenoiser):
            raise ConfigError('model.denoiser must be a discrete diffusion '
                              'denoiser (DDPMDenoiser, ADMDenoiser, '
                              f'DiffusersDenoiser), got '
                              f'{type(self.denoiser).__name__}')
        self.denoiser.network.requires_grad_(True)
        clf = _build(classifier)
        if classifier_checkpoint is not None:
            state = load_state_dict_file(classifier_checkpoint)
            state = {k[len('module.'):] if k.startswith('module.') else k:
                     v for k, v in state.items()}
            state = {k: v for k, v in state.items()
                     if not k.startswith('train_loss.')}
            res = clf.load_state_dict(state, strict=False)
            if res.missing_keys or res.unexpected_keys:
                raise CheckpointError(
                    f'{classifier_checkpoint} does not fit model.classifier:'
                    f' missing {res.missing_keys[:3]}, unexpected '
                    f'{res.unexpected_keys[:3]}')
        # outside the module tree: frozen, not saved, not optimised
        self._classifier = [clf.eval().requires_grad_(False)]
        sigmas = [float(s) for s in sigmas]
        if not sigmas or min(sigmas) <= 0:
            raise ConfigError(f'model.sigmas must be positive, got {sigmas}')
        for s in sigmas:  # every scale must fit the schedule
            self.denoiser.timestep(2 * s)
        if not isinstance(num_noises, int) or num_noises < 1:
            raise ConfigError(f'model.num_noises must be a positive int, got '
                              f'{num_noises!r}')
        for key, value in (('anti_consistency_weight',
                            anti_consistency_weight),
                           ('diffusion_weight', diffusion_weight)):
            if isinstance(value, bool) or not isinstance(
                    value, (int, float)) or not value >= 0:
                raise ConfigError(f'model.{key} must be a non-negative '
                                  f'number, got {value!r}')
        self.sigmas = sigmas
        self.num_noises = num_noises
        self.anti_consistency_weight = anti_consistency_weight
        self.diffusion_weight = diffusion_weight

    @property
    def classifier(self):
        return self._classifier[0]

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        self._classifier[0]._apply(fn, *args, **kwargs)
        return self

    def train(self, mode=True):
        super().train(mode)
        self.classifier.eval()  # BN/dropout of f stay frozen
        return self

    def _logits(self, x):
        return getattr(self.classifier, 'logits', self.classifier)(x)

    def calibration_loss(self, x, labels):
        """``dict(loss_brier, loss_anti_consistency, recoverable)``."""
        b, m = x.shape[0], self.num_noises
        scale = torch.randint(len(self.sigmas), (b, ), device=x.device)
        probs = None
        for j, sigma in enumerate(self.sigmas):  # one batch per scale
            idx = torch.nonzero(scale == j)[:, 0]
            if idx.numel() == 0:
                continue
            xs = x[idx].repeat_interleave(m, 0)
            noisy = xs + sigma * torch.randn_like(xs)
            den = self.denoiser.denoise_differentiable(noisy, sigma)
            p = self._logits(den).float().softmax(-1).view(len(idx), m, -1)
            if probs is None:
                probs = p.new_zeros(b, m, p.shape[-1])
            probs = probs.index_copy(0, idx, p)
        terms = calibration_losses(probs, labels)
        r = terms['recoverable'].float()
        return dict(
            loss_brier=(r * terms['brier']).mean(),
            loss_anti_consistency=self.anti_consistency_weight *
            ((1 - r) * terms['anti_consistency']).mean(),
            recoverable=r.mean().detach())

    def diffusion_loss(self, x):
        """The diffusion model's own loss at uniform t on x' = 2x − 1."""
        den = self.denoiser
        x0 = x * 2 - 1
        t = torch.randint(den.num_timesteps, (x.shape[0], ),
                          device=x.device)
        noise = torch.randn_like(x0)
        x_t = den.diffusion.q_sample(x0, t, noise)
        out = den.model_output(x_t, t).float()
        losses = den.diffusion.hybrid_loss(out, x0, x_t, t, noise)
        return {f'{k}_diffusion': self.diffusion_weight * v
                for k, v in losses.items()}

    def forward(self, inputs, data_samples=None, mode='loss'):
        if mode not in ('loss', 'tensor'):
            raise ValueError(f"mode must be 'loss' or 'tensor', got {mode}")
        labels = torch.cat([ds.gt_label for ds in data_samples]).to(
            inputs.device)
        losses = self.calibration_loss(inputs, labels)
        if self.diffusion_weight:
            losses.update(self.diffusion_loss(inputs))
        return losses
