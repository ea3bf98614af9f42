"""What flow-matching and DDPM training share: label dropout, the optional
VAE, REPA aligners and the sampling entry point."""
import torch
from mmengine.model import BaseModel
from torch import nn

from rgl.registry import MODELS, SAMPLERS
from rgl.utils.errors import ConfigError


def build_module(cfg):
    return cfg if isinstance(cfg, nn.Module) else MODELS.build(cfg)


class GenerativeAlgorithm(BaseModel):
    """Base of :class:`FlowMatching` and :class:`DDPM`.

    Args:
        backbone (dict): the network, e.g. ``dict(type='SiT', arch='XL/2')``;
            it is called ``backbone(x_t, t, y)`` and must expose
            ``num_classes``, ``in_channels`` and ``input_size``.
        aligners (dict | list[dict], optional): REPA aligners; each is bound
            to the backbone and adds its ``loss_repa``.
        vae (dict, optional): a frozen latent autoencoder with
            ``encode(x01) -> z`` (scaled) and ``decode(z) -> x01``. When the
            batch has no ``images`` the ``inputs`` are images and are encoded
            on the fly; otherwise ``inputs`` are latents already.
        label_dropout (float): p of replacing y by the null class ∅ (0.1).
        sampler (dict, optional): default SAMPLERS config of :meth:`sample`.
        data_preprocessor (dict, optional): defaults to
            ``GenerativeDataPreprocessor``.

    Pixel-space models (no VAE) see images mapped from [0, 1] to [−1, 1].
    """

    default_sampler = None

    def __init__(self,
                 backbone,
                 aligners=None,
                 vae=None,
                 label_dropout=0.1,
                 sampler=None,
                 data_preprocessor=None,
                 init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='GenerativeDataPreprocessor')
        super().__init__(data_preprocessor=build_module(data_preprocessor),
                         init_cfg=init_cfg)
        self.backbone = build_module(backbone)
        name = type(self.backbone).__name__
        for attr in ('num_classes', 'in_channels', 'input_size'):
            if not isinstance(getattr(self.backbone, attr, None), int):
                raise ConfigError(f'model.backbone ({name}) has no int '
                                  f'`{attr}`')
        if not 0 <= label_dropout < 1:
            raise ConfigError(f'model.label_dropout must be in [0, 1), got '
                              f'{label_dropout}')
        self.label_dropout = label_dropout
        if isinstance(aligners, (dict, nn.Module)):
            aligners = [aligners]
        self.aligners = nn.ModuleList(
            [build_module(a).bind(self.backbone) for a in aligners or []])
        # Frozen and outside the module tree (see _apply): the VAE's weights
        # stay out of checkpoints, the optimizer, EMA and DDP.
        self._vae = []
        if vae is not None:
            built = build_module(vae).eval().requires_grad_(False)
            self._vae.append(built)
        self.sampler_cfg = sampler or self.default_sampler

    @property
    def vae(self):
        return self._vae[0] if self._vae else None

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        for module in self._vae:
            module._apply(fn, *args, **kwargs)
        return self

    @property
    def null_label(self):
        return self.backbone.num_classes

    # -- data -----------------------------------------------------------
    def to_model_space(self, inputs, images=None):
        """``(x, images01)``: the model's data x and the [0, 1] images the
        encoders see."""
        if images is not None:
            return inputs, images  # latent dataset: inputs are latents
        if self.vae is not None:
            with torch.no_grad():
                return self.vae.encode(inputs), inputs
        return inputs * 2 - 1, inputs

    def to_images(self, x):
        """Model-space samples → images in [0, 1]."""
        if self.vae is not None:
            with torch.no_grad():
                return self.vae.decode(x.float()).clamp(0, 1)
        return ((x.float() + 1) / 2).clamp(0, 1)

    def labels_of(self, data_samples, n, device):
        if data_samples is None:
            return torch.full((n, ), self.null_label, dtype=torch.long,
                              device=device)
        return torch.cat([ds.gt_label for ds in data_samples]).to(device)

    def drop_labels(self, y):
        """y → ∅ with probability ``label_dropout`` (for CFG)."""
        if not self.training or self.label_dropout == 0:
            return y
        drop = torch.rand(y.shape[0], device=y.device) < self.label_dropout
        return torch.where(drop, torch.full_like(y, self.null_label), y)

    # -- training ---------------------------------------------------------
    def denoising_loss(self, x, y):
        """``dict(loss_...)`` of one noisy forward pass; subclasses."""
        raise NotImplementedError

    def forward(self, inputs, data_samples=None, images=None, features=None,
                mode='loss'):
        if mode == 'loss':
            x, images01 = self.to_model_space(inputs, images)
            y = self.drop_labels(
                self.labels_of(data_samples, x.shape[0], x.device))
            losses = self.denoising_loss(x, y)
            for i, aligner in enumerate(self.aligners):
                feats = features if i == 0 else None
                for key, value in aligner.loss(images01, feats).items():
                    losses[key if len(self.aligners) == 1 else
                           f'{key}_{i}'] = value
            return losses
        if mode == 'predict':
            labels = self.labels_of(data_samples, inputs.shape[0],
                                    inputs.device)
            samples = self.sample(labels)
            for ds, img in zip(data_samples, samples):
                ds.set_field(img, 'gen_image')
            return data_samples
        if mode == 'tensor':
            x, _ = self.to_model_space(inputs, images)
            y = self.labels_of(data_samples, x.shape[0], x.device)
            return self.denoising_loss(x, y)
        raise ValueError(f'mode must be loss, predict or tensor, got {mode}')

    # -- sampling ---------------------------------------------------------
    @property
    def process(self):
        """The noising process the samplers integrate (interpolant or
        Gaussian diffusion)."""
        raise NotImplementedError

    def network(self, x, t, y):
        return self.backbone(x, t, y)

    @torch.no_grad()
    def sample(self, labels, sampler=None, noise=None, generator=None,
               show_progress=False, return_latents=False):
        """Generate images in [0, 1] (N, C, H, W) for class ``labels`` (N,)
        (``num_classes`` = unconditional).

        Args:
            sampler (dict, optional): a SAMPLERS config; defaults to the
                model's ``sampler``.
            noise (Tensor, optional): the starting x_T, else drawn from
                ``generator``.
        """
        cfg = sampler or self.sampler_cfg
        if cfg is None:
            raise ConfigError('no sampler: pass `sampler=dict(type=...)` or '
                              'set model.sampler')
        step = cfg if callable(cfg) else SAMPLERS.build(cfg)
        b = self.backbone
        device = next(self.backbone.parameters()).device
        labels = labels.to(device)
        if noise is None:
            shape = (labels.shape[0], b.in_channels, b.input_size,
                     b.input_size)
            gen_device = generator.device if generator is not None else device
            noise = torch.randn(shape, generator=generator,
                                device=gen_device).to(device)
        was_training = self.training
        self.eval()
        try:
            x = step(self.network, noise.to(device), labels, self.null_label,
                     process=self.process, generator=generator,
                     show_progress=show_progress)
        finally:
            self.train(was_training)
        if return_latents:
            return x
        return self.to_images(x)
