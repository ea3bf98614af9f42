"""Flow matching with stochastic interpolants (SiT; REPA's training), with
REG's class token as an option."""
import torch

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError, DataError
from .base import GenerativeAlgorithm
from .class_token import encode_with_class_token, pack, unpack
from .interpolants import build_interpolant, sample_time


def mean_flat(err):
    return err.mean(dim=list(range(1, err.dim())))


@MODELS.register_module()
class FlowMatching(GenerativeAlgorithm):
    """Train v_θ(x_t, t, y) to the interpolant's velocity:

        t ~ p(t),  ε ~ N(0, I),  x_t = α_t x + σ_t ε,
        L = E ‖v_θ(x_t, t, y) − (α'_t x + σ'_t ε)‖²  (+ λ L_REPA).

    Args:
        path (str | dict): ``'linear'`` (α_t = 1 − t, σ_t = t) or
            ``'cosine'``.
        weighting (str): time distribution p(t), ``'uniform'`` or
            ``'lognormal'`` (t = sigmoid(u), u ~ N(m, s²)).
        lognormal_mean, lognormal_std (float): m and s of ``'lognormal'``
            (0 and 1: REPA's, DDT's and LightningDiT's).
        time_shift (float): s of the timestep shift t' = s·t/(1 + (s−1)·t)
            applied to the training times (1: off); see
            :func:`~rgl.models.generative.interpolants.time_shift`.
        prediction (str): only ``'v'`` (velocity), as REPA.
        data_at_one (bool): the backbone was trained with SiT's own time
            convention (t = 1 is data, velocity from noise to data), e.g. the
            official ``SiT-XL-2-256x256.pt``; times and velocities are mapped
            so samplers keep t = 1 as noise.
        class_token (dict, optional): REG. The normalised class token z of
            the first aligner's first encoder (DINOv2-B's
            ``x_norm_clstoken``) joins the backbone's input (the backbone
            needs ``class_token_dim`` = D_enc) and is noised with the same
            t on the same path, z_t = α_t z + σ_t ε', and denoised jointly:

                L += w_cls · E ‖v_θ^cls(x_t, z_t, t, y) − (α'_t z + σ'_t ε')‖²

            as ``loss_cls``. Keys: ``loss_weight`` (w_cls, REG's ``--cls``,
            0.03). Samplers integrate latents and token together (see
            :mod:`rgl.models.generative.class_token`). ``None``: off.
        **kwargs: see :class:`GenerativeAlgorithm` (backbone, aligners, vae,
            label_dropout, sampler, data_preprocessor).
    """

    default_sampler = dict(type='SDESampler', num_steps=250)

    def __init__(self, backbone, path='linear', weighting='uniform',
                 prediction='v', data_at_one=False, lognormal_mean=0.0,
                 lognormal_std=1.0, time_shift=1.0, class_token=None,
                 **kwargs):
        super().__init__(backbone, **kwargs)
        if prediction != 'v':
            raise ConfigError(f"model.prediction must be 'v' (velocity), got "
                              f'{prediction!r}')
        self.interpolant = build_interpolant(path)
        self.time_cfg = dict(weighting=weighting, mean=float(lognormal_mean),
                             std=float(lognormal_std),
                             shift=float(time_shift))
        sample_time(1, **self.time_cfg)  # validates the names and values
        self.weighting = weighting
        self.data_at_one = data_at_one
        self.class_token_weight = self._check_class_token(class_token)

    def _check_class_token(self, cfg):
        if cfg is None:
            return None
        if not isinstance(cfg, dict):
            raise ConfigError(f'model.class_token must be a dict (e.g. '
                              f'dict(loss_weight=0.03)) or None, got {cfg!r}')
        unknown = set(cfg) - {'loss_weight'}
        if unknown:
            raise ConfigError(f'model.class_token has unknown keys '
                              f'{sorted(unknown)}; it takes loss_weight')
        dim = getattr(self.backbone, 'class_token_dim', None)
        if not dim:
            raise ConfigError(
                'model.class_token (REG) needs a backbone with a class '
                'token: set model.backbone.class_token_dim to the encoder '
                'width (768 for DINOv2-B)')
        # A model without aligners can still sample (tools/sample.py
        # drops them); training asks for one in encode_targets.
        enc_dim = self.aligners[0].encoder_dims[0] if self.aligners else dim
        if enc_dim != dim:
            raise ConfigError(
                f'model.backbone.class_token_dim={dim} but the first '
                f'aligner\'s first encoder gives {enc_dim}-d tokens')
        return float(cfg.get('loss_weight', 0.03))

    @property
    def process(self):
        return self.interpolant

    def network(self, x, t, y):
        if self.data_at_one:
            return -self.backbone(x, 1 - t, y)
        return self.backbone(x, t, y)

    def joint_network(self, x, token, t, y):
        """REG: velocities ``(v, v_cls)`` of latents and class token."""
        if self.data_at_one:
            v, v_cls = self.backbone(x, 1 - t, y, cls_token=token)
            return -v, -v_cls
        return self.backbone(x, t, y, cls_token=token)

    # -- REG's class token ------------------------------------------------
    def encode_targets(self, images01, features):
        if self.class_token_weight is None:
            return features, {}
        if images01 is None:
            raise DataError(
                'model.class_token (REG) needs the clean images for the '
                'encoder\'s class token; the batch has latents without '
                '`images` (use LatentDataset(with_images=True))')
        if not self.aligners:
            raise ConfigError(
                'model.class_token (REG) reads the class token from the '
                'first aligner\'s first encoder: model.aligners is empty')
        encoders = self.aligners[0].encoders
        if not encoders:
            raise ConfigError('model.class_token (REG) needs a built encoder '
                              'in the first aligner (not encoder_dims alone)')
        # HASTE records the encoder's attention maps: one pass gives the
        # tokens, the class token and the maps
        shared = getattr(self.aligners[0], 'teacher_pass', lambda: None)()
        if shared is None:
            tokens, cls = encode_with_class_token(encoders[0], images01)
        else:
            tokens, cls, maps = encode_with_class_token(
                encoders[0], images01, forward=shared)
            self.aligners[0].keep_teacher(images01, maps)
        if features is None:
            features = [tokens] + [enc(images01) for enc in encoders[1:]]
        if self.aligners[0].align_prefix:  # REG aligns the class position
            features = [torch.cat([cls[:, None].to(features[0].dtype),
                                   features[0]], dim=1)] + list(features[1:])
        return features, dict(cls_token=cls)

    @property
    def sampling_network(self):
        if self.class_token_weight is None:
            return self.network
        b = self.backbone
        shape = (b.in_channels, b.input_size, b.input_size)

        def joint(state, t, y):
            x, token = unpack(state, shape)
            return pack(*self.joint_network(x, token, t, y))

        return joint

    def initial_state(self, noise, generator=None):
        if self.class_token_weight is None:
            return noise
        # the token's noise is drawn after the latents' from the same
        # generator: the latent noise is that of a plain model
        token = self.randn((noise.shape[0], self.backbone.class_token_dim),
                           generator, noise.device)
        return pack(noise, token)

    def final_latents(self, state):
        if self.class_token_weight is None:
            return state
        b = self.backbone
        return unpack(state, (b.in_channels, b.input_size, b.input_size))[0]

    # -- training ---------------------------------------------------------
    def denoising_loss(self, x, y, cls_token=None):
        t = sample_time(x.shape[0], device=x.device, **self.time_cfg)
        noise = torch.randn_like(x)
        x_t, v = self.interpolant.interpolate(x, noise, t)
        if cls_token is None:
            pred = self.network(x_t, t.to(x.dtype), y)
            err = (pred.float() - v.float())**2
            return dict(loss_denoise=mean_flat(err).mean())
        cls_token = cls_token.to(x.dtype)
        cls_t, cls_v = self.interpolant.interpolate(
            cls_token, torch.randn_like(cls_token), t)
        pred, cls_pred = self.joint_network(x_t, cls_t, t.to(x.dtype), y)
        err = (pred.float() - v.float())**2
        cls_err = (cls_pred.float() - cls_v.float())**2
        return dict(loss_denoise=mean_flat(err).mean(),
                    loss_cls=self.class_token_weight *
                    mean_flat(cls_err).mean())
