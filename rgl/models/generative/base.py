"""What flow-matching and DDPM training share: label dropout, the optional
VAE, REPA aligners and the sampling entry point."""
import torch
from mmengine.model import BaseModel
from torch import nn

from rgl.registry import MODELS, SAMPLERS
from rgl.utils.errors import ConfigError, DataError
from .data_preprocessor import declared_space

#: how far outside [0, 1] image inputs may stray (resampling overshoot)
PIXEL_MARGIN = 0.25


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
            ``encode(x01) -> z`` (scaled) and ``decode(z) -> x01``. Image
            ``inputs`` are encoded on the fly; ``inputs`` that the dataset
            declares as latents (``input_space='latent'``, as
            :class:`LatentDataset` does) are used as they are.
        label_dropout (float): p of replacing y by the null class ∅ (0.1).
        sampler (dict, optional): default SAMPLERS config of :meth:`sample`.
        data_preprocessor (dict, optional): defaults to
            ``GenerativeDataPreprocessor``.

    Pixel-space models (no VAE) see images mapped from [0, 1] to [−1, 1].
    Whether ``inputs`` are images or latents is never guessed from the
    batch's keys: it is the ``input_space`` the data preprocessor reads from
    the dataset's declaration (see :func:`declared_space`).
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
    def to_model_space(self, inputs, images=None, input_space='pixel'):
        """``(x, images01)``: the model's data x and the [0, 1] images the
        encoders see (``None`` for latents without raw images).

        ``input_space`` is what the dataset declares ``inputs`` to be:
        ``'latent'`` (already the model's data, e.g. :class:`LatentDataset`)
        or ``'pixel'`` (images in [0, 1], encoded by the VAE or mapped to
        [−1, 1]).
        """
        if input_space == 'latent':
            x, images01 = inputs, images
        elif input_space == 'pixel':
            self._check_pixels(inputs)
            images01 = inputs if images is None else images
            if self.vae is not None:
                with torch.no_grad():
                    x = self.vae.encode(inputs)
            else:
                x = inputs * 2 - 1
        else:
            raise ConfigError(f"input_space must be 'pixel' or 'latent', "
                              f'got {input_space!r}')
        b = self.backbone
        want = (b.in_channels, b.input_size, b.input_size)
        if tuple(x.shape[1:]) != want:
            what = ('latent inputs' if input_space == 'latent' else
                    'image inputs after the VAE' if self.vae is not None
                    else 'image inputs')
            raise DataError(
                f'{what} have shape {tuple(x.shape[1:])}, but model.backbone '
                f'({type(b).__name__}) takes (in_channels, input_size, '
                f'input_size) = {want}')
        return x, images01

    @staticmethod
    def _check_pixels(inputs):
        # Latents taken for images would be trained on without an error
        # (REPA's SD-VAE latents have unit scale): refuse values that no
        # [0, 1] image has. The margin allows resampling overshoot.
        # one reduction and one host sync per step (not two)
        lo, hi = torch.stack(torch.aminmax(inputs.detach())).tolist()
        if lo < -PIXEL_MARGIN or hi > 1 + PIXEL_MARGIN:
            raise DataError(
                f'inputs taken as images (input_space=\'pixel\') range over '
                f'[{lo:.3g}, {hi:.3g}], not [0, 1]; if they are latents, '
                'the dataset must declare input_space=\'latent\' in its '
                'data samples (LatentDataset does), or set '
                'data_preprocessor.input_space=\'latent\'')

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

    def encode_targets(self, images01, features):
        """``(features, extra)``: the first aligner's target features
        (``None``: its encoders run on ``images01``) and extra keyword
        inputs of :meth:`denoising_loss` that come from the encoders (REG's
        class token). Plain algorithms add nothing."""
        return features, {}

    def forward(self, inputs, data_samples=None, images=None, features=None,
                input_space=None, mode='loss'):
        """``input_space``: ``'pixel'`` or ``'latent'``, as the data
        preprocessor read it from the dataset; when called directly without
        it, the data samples' declaration (else ``'pixel'``)."""
        if input_space is None:
            input_space = declared_space(data_samples)
        if mode == 'loss':
            x, images01 = self.to_model_space(inputs, images, input_space)
            if self.aligners and images01 is None and features is None:
                raise DataError(
                    'the batch holds latents without `images` for the REPA '
                    'encoders and without pre-extracted `features`: extract '
                    'with --save-images (or keep the source image folder) '
                    'and use LatentDataset(with_images=True), or extract '
                    'features with --encoder and set LatentDataset.features')
            y = self.drop_labels(
                self.labels_of(data_samples, x.shape[0], x.device))
            features, extra = self.encode_targets(images01, features)
            losses = self.denoising_loss(x, y, **extra)
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
            x, images01 = self.to_model_space(inputs, images, input_space)
            y = self.labels_of(data_samples, x.shape[0], x.device)
            _, extra = self.encode_targets(images01, features)
            return self.denoising_loss(x, y, **extra)
        raise ValueError(f'mode must be loss, predict or tensor, got {mode}')

    # -- sampling ---------------------------------------------------------
    @property
    def process(self):
        """The noising process the samplers integrate (interpolant or
        Gaussian diffusion)."""
        raise NotImplementedError

    def network(self, x, t, y):
        return self.backbone(x, t, y)

    @property
    def sampling_network(self):
        """``f(state, t, y)`` the samplers integrate; the network itself
        unless the state carries more than the latents (REG)."""
        return self.network

    @staticmethod
    def randn(shape, generator, device):
        """Standard normal noise drawn from ``generator`` on its own
        device (a fixed seed reproduces across devices)."""
        gen_device = generator.device if generator is not None else device
        return torch.randn(shape, generator=generator,
                           device=gen_device).to(device)

    def initial_state(self, noise, generator=None):
        """The sampler's starting state for latent noise x_T."""
        return noise

    def final_latents(self, state):
        """The latents of the sampler's final state."""
        return state

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
            noise = self.randn(shape, generator, device)
        state = self.initial_state(noise.to(device), generator)
        was_training = self.training
        self.eval()
        try:
            x = step(self.sampling_network, state, labels, self.null_label,
                     process=self.process, generator=generator,
                     show_progress=show_progress)
        finally:
            self.train(was_training)
        x = self.final_latents(x)
        if return_latents:
            return x
        return self.to_images(x)
