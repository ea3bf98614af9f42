"""REPA-E: end-to-end tuning of the VAE together with the latent diffusion
transformer (Leng et al., ICCV 2025)."""
import contextlib

import torch
import torch.nn.functional as F
from torch import nn

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError, DataError
from .base import build_module
from .data_preprocessor import declared_space
from .flow_matching import FlowMatching, mean_flat
from .interpolants import sample_time

RECONSTRUCTION_LOSSES = dict(l1=F.l1_loss, mse=F.mse_loss)


@contextlib.contextmanager
def frozen(*modules):
    """Parameters of ``modules`` record no gradient inside the block (the
    graph still reaches their inputs); their flags are restored after."""
    params = [p for m in modules for p in m.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)


@contextlib.contextmanager
def eval_mode(*modules):
    """``modules`` in eval mode inside the block, their modes restored
    after (the latent BN then normalises by its running statistics and
    leaves them unchanged)."""
    modes = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(modules, modes):
            m.train(mode)


@MODELS.register_module()
class REPAE(FlowMatching):
    """REPA-E: the VAE E_φ/D_φ, the SiT v_θ and the REPA projector h_ω are
    trained together, one step on

        L(θ, φ, ω) = L_DIFF(θ, sg(φ)) + λ L_REPA(θ, ω; sg(φ))
                     + λ_VAE L_REPA(φ; sg(θ), sg(ω)) + L_REG(φ).

    With x a clean image, z ~ q_φ(z|x) its latent and
    ẑ = BN(z) the batch-normalised latent (replacing SD-VAE's fixed scale):

    - L_DIFF, the flow-matching loss on x_t = α_t sg(ẑ) + σ_t ε: the
      stop-gradient keeps the diffusion loss from reaching the VAE (the
      paper shows that, without it, the VAE collapses its latents to make
      denoising easy). BN uses the batch statistics here and updates its
      running ones with momentum ``bn_momentum``.
    - λ L_REPA(θ, ω; sg(φ)): REPA on the same detached latents, into SiT
      and projector (λ = the aligner's ``loss_weight``, 0.5).
    - λ_VAE L_REPA(φ; ...): a second SiT pass on the *non-detached*
      latents, with the same t and ε, SiT and projector frozen, BN in eval
      mode (running statistics): the negative cosine of the REPA term
      reaches only the VAE encoder, weighted λ_VAE =
      ``vae_align_proj_coeff`` (1.5). This is how the official
      ``train_repae.py`` aligns the VAE: through the diffusion model's
      hidden state, with no projector on the VAE's own features.
    - L_REG(φ): the VAE's own loss, w_rec ‖D_φ(z) − x‖ (L1 or MSE) +
      w_KL KL(q_φ(z|x) ‖ N(0, I)) (+ optional perceptual term). REPA-E's
      recipe adds LPIPS (weight 1) and a PatchGAN (weight 0.1, LeCam 0);
      those need weights that are not shipped, see ``perceptual`` and
      ``gan``.

    The official code updates VAE and SiT with two AdamW optimisers (lr
    1e-4 each, betas (0.9, 0.999), no weight decay, each clipped to 1.0)
    from the same forward state; with the terms above one AdamW over both
    (lr 1e-4) takes the same step, except that the gradient is clipped
    jointly (see the configs).

    Args:
        backbone (dict): the SiT; ``in_channels`` = the VAE's latent
            channels, ``input_size`` = image size / VAE downsampling.
        vae (dict): an :class:`~rgl.models.vae.AutoencoderKL` config (its
            ``trainable`` is set to True). Unlike the frozen VAE of
            :class:`FlowMatching`, it is a submodule: its weights are in the
            optimiser, the EMA copy and the checkpoint (the E2E-VAE).
        aligners (dict | list[dict]): REPA aligners (at least one to train;
            none is allowed for sampling).
        vae_align_proj_coeff (float): λ_VAE (REPA-E's
            ``--vae-align-proj-coeff``, 1.5).
        bn_momentum (float): momentum of the latent BN (0.1).
        bn_eps (float): its ε (1e-4, REPA-E's).
        latent_mean, latent_std (list[float], optional): initial running
            mean and std of the latent BN per channel (REPA-E starts from the
            VAE's dataset statistics); default 0 and 1.
        reconstruction (str): ``'l1'`` (REPA-E) or ``'mse'``.
        reconstruction_weight (float): w_rec (1.0).
        kl_weight (float): w_KL on the KL summed over latent dimensions and
            averaged over the batch (1e-6).
        perceptual (dict, optional): a MODELS config of a module
            ``f(x̂, x) -> scalar`` on images in [−1, 1] (e.g. LPIPS with
            weights from a local path); ``None``: off.
        perceptual_weight (float): its weight (REPA-E: 1.0).
        gan (dict, optional): not implemented; must be ``None``.
        **kwargs: see :class:`FlowMatching` (path, weighting, ...,
            label_dropout, sampler, data_preprocessor). ``class_token``
            (REG) is not supported here.
    """

    def __init__(self, backbone, vae, aligners=None,
                 vae_align_proj_coeff=1.5, bn_momentum=0.1, bn_eps=1e-4,
                 latent_mean=None, latent_std=None, reconstruction='l1',
                 reconstruction_weight=1.0, kl_weight=1e-6, perceptual=None,
                 perceptual_weight=1.0, gan=None, **kwargs):
        if kwargs.get('class_token') is not None:
            raise ConfigError('REPAE does not support model.class_token '
                              '(REG); remove it')
        if gan is not None:
            raise ConfigError(
                'REPAE.gan: the PatchGAN term of REPA-E is not implemented '
                '(its discriminator weights are not shipped); set gan=None')
        super().__init__(backbone, aligners=aligners, vae=None, **kwargs)
        # no aligners is allowed for sampling (tools/sample.py drops them);
        # training asks for them in forward
        for i, aligner in enumerate(self.aligners):
            if not aligner.loss_weight > 0:
                raise ConfigError(f'model.aligners[{i}].loss_weight must be '
                                  f'> 0 for REPAE, got {aligner.loss_weight}')
        if reconstruction not in RECONSTRUCTION_LOSSES:
            raise ConfigError(f'REPAE.reconstruction must be one of '
                              f'{sorted(RECONSTRUCTION_LOSSES)}, got '
                              f'{reconstruction!r}')
        if not 0 <= bn_momentum <= 1:
            raise ConfigError(f'REPAE.bn_momentum must be in [0, 1], got '
                              f'{bn_momentum}')
        if isinstance(vae, dict):
            vae = dict(vae, trainable=True)
        self.autoencoder = build_module(vae)
        if not getattr(self.autoencoder, 'trainable', False):
            raise ConfigError('REPAE.vae must be a trainable AutoencoderKL')
        channels = self.autoencoder.latent_channels
        if channels != self.backbone.in_channels:
            raise ConfigError(
                f'REPAE: the VAE gives {channels} latent channels but '
                f'model.backbone.in_channels={self.backbone.in_channels}')
        self.latent_norm = nn.BatchNorm2d(channels, eps=bn_eps,
                                          momentum=bn_momentum, affine=False)
        self._init_latent_stats(latent_mean, latent_std, channels)
        self.vae_align_proj_coeff = float(vae_align_proj_coeff)
        self.reconstruction = reconstruction
        self.reconstruction_weight = float(reconstruction_weight)
        self.kl_weight = float(kl_weight)
        self.perceptual = None if perceptual is None else \
            build_module(perceptual)
        self.perceptual_weight = float(perceptual_weight)

    def _init_latent_stats(self, mean, std, channels):
        for name, value in (('latent_mean', mean), ('latent_std', std)):
            if value is not None and len(value) != channels:
                raise ConfigError(f'REPAE.{name} needs {channels} values '
                                  f'(one per latent channel), got {value}')
        if mean is not None:
            self.latent_norm.running_mean.copy_(torch.as_tensor(mean))
        if std is not None:
            self.latent_norm.running_var.copy_(torch.as_tensor(std)**2)

    # -- the latent BN ----------------------------------------------------
    def denormalize(self, x):
        """ẑ -> z with the BN's running statistics (for decoding)."""
        bn = self.latent_norm
        shape = (1, -1, 1, 1)
        std = (bn.running_var + bn.eps).sqrt().view(shape)
        return x * std.to(x.dtype) + bn.running_mean.view(shape).to(x.dtype)

    def to_images(self, x):
        with torch.no_grad():
            out = self.autoencoder.decode_raw(self.denormalize(x.float()))
        return ((out + 1) / 2).clamp(0, 1)

    # -- training ---------------------------------------------------------
    def vae_losses(self, images01, posterior, z):
        """L_REG(φ): reconstruction, KL and the optional perceptual term."""
        target = images01.float() * 2 - 1
        recon = self.autoencoder.decode_raw(z)
        rec_fn = RECONSTRUCTION_LOSSES[self.reconstruction]
        losses = dict(
            loss_vae_rec=self.reconstruction_weight * rec_fn(recon, target),
            loss_vae_kl=self.kl_weight * posterior.kl().mean())
        if self.perceptual is not None:
            losses['loss_vae_perceptual'] = self.perceptual_weight * \
                self.perceptual(recon, target)
        return losses

    def _alignment(self, features):
        """Each aligner's loss after a backbone pass, keyed like
        :class:`GenerativeAlgorithm`'s."""
        out = {}
        for i, (aligner, feats) in enumerate(zip(self.aligners, features)):
            for key, value in aligner.loss(None, feats).items():
                out[key if len(self.aligners) == 1 else f'{key}_{i}'] = value
        return out

    def forward(self, inputs, data_samples=None, images=None, features=None,
                input_space=None, mode='loss'):
        if mode not in ('loss', 'tensor'):
            return super().forward(inputs, data_samples, images, features,
                                   input_space, mode)
        if input_space is None:
            input_space = declared_space(data_samples)
        if input_space != 'pixel':
            raise DataError('REPAE tunes the VAE, so it trains on images: '
                            'the batch holds latents (input_space='
                            f'{input_space!r}); use an image dataset')
        if not self.aligners:
            raise ConfigError('REPAE needs model.aligners to train: the REPA '
                              'loss is what tunes the VAE')
        self._check_pixels(inputs)
        images01 = inputs if images is None else images
        if features is not None:
            if len(self.aligners) != 1:
                raise DataError('pre-extracted `features` serve one aligner; '
                                'REPAE has several')
            targets = [features]
        else:
            targets = [aligner.encode(images01) for aligner in self.aligners]

        posterior = self.autoencoder.posterior(inputs)
        z = posterior.sample()
        losses = self.vae_losses(inputs, posterior, z)
        b = self.backbone
        want = (b.in_channels, b.input_size, b.input_size)
        if tuple(z.shape[1:]) != want:
            raise DataError(f'the VAE gives latents of shape '
                            f'{tuple(z.shape[1:])}, but model.backbone takes '
                            f'(in_channels, input_size, input_size) = {want}')
        y = self.labels_of(data_samples, z.shape[0], z.device)
        # one t and ε for both passes, as the official step
        t = sample_time(z.shape[0], device=z.device, **self.time_cfg)
        noise = torch.randn_like(z)

        # (1) λ_VAE L_REPA: the graph reaches the VAE through z only
        with frozen(self.backbone, self.aligners), \
                eval_mode(self.backbone, self.latent_norm):
            x_t, _ = self.interpolant.interpolate(self.latent_norm(z), noise,
                                                  t)
            self.network(x_t, t.to(x_t.dtype), y)
            # the unweighted negative cosine of each aligner (REPA-E's
            # proj_loss), so that λ_VAE alone weighs it
            vae_align = sum(
                aligner.loss(None, feats)['loss_repa'] / aligner.loss_weight
                for aligner, feats in zip(self.aligners, targets))
        losses['loss_vae_align'] = self.vae_align_proj_coeff * vae_align

        # (2) L_DIFF + λ L_REPA on sg(z): BN in train mode (batch stats)
        x = self.latent_norm(z.detach())
        x_t, v = self.interpolant.interpolate(x, noise, t)
        pred = self.network(x_t, t.to(x.dtype), self.drop_labels(y))
        losses['loss_denoise'] = mean_flat(
            (pred.float() - v.float())**2).mean()
        losses.update(self._alignment(targets))
        return losses
