"""REPA: representation alignment (Yu et al., ICLR 2025)."""
import copy
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError
from ..utils.feature_tap import FeatureTap
from ..utils.token_grid import as_tokens, describe_grid, match_token_grid
from .projectors import PROJECTORS, build_projector
from .spatial_norm import parse_spatial_norm, spatial_normalize


def infer_width(backbone):
    for attr in ('hidden_size', 'embed_dim', 'embed_dims', 'num_features',
                 'out_channels'):
        value = getattr(backbone, attr, None)
        if isinstance(value, int):
            return value
    return None


@MODELS.register_module()
class REPAAligner(nn.Module):
    """Align a backbone's hidden state to frozen encoder tokens.

    With h_t the hidden state of the noisy input after block ``depth``,
    y* = f(x) the (N, T, D_k) patch tokens of clean image x from encoder k,
    and h_φ^k a per-token projector,

        L_REPA = −λ · (1/K) Σ_k (1/N) Σ_n (1/T) Σ_t cos(y*_{k,n,t},
                 h_φ^k(h_{n,t})).

    Args:
        encoders (dict | list[dict]): one or several frozen encoders (any
            MODELS entry with ``encoder(x) -> (N, T, D)`` for x in [0, 1] and
            ``embed_dim``). They are kept out of the state dict, the
            optimizer, EMA and DDP.
        depth (int, optional): align the output of block ``depth``
            (1-indexed, as in the paper: 8 for SiT-L/XL, 4 for SiT-B); the
            tap is ``<blocks_name>.<depth-1>``.
        layer (str, optional): the tap by name instead (any backbone, e.g.
            ``'stages.1'`` of a CNN, ``'blocks.5'`` of a timm ViT).
        blocks_name (str): the block list of the backbone for ``depth``.
        in_dim (int, optional): width of the tapped hidden state; read
            from the backbone (``hidden_size``, ``embed_dim``, ...) if omitted.
        projector_dim (int): hidden width of the projector MLP (2048).
        loss_weight (float): λ (0.5 in the paper).
        encoder_dims (list[int], optional): D_k per encoder, to build the
            projectors without building the encoders (``encoders=[]``, e.g.
            for pre-extracted ``features`` or checkpoint conversion).
        projector (str): ``'mlp'``, REPA's 3-layer MLP on every token, or
            ``'conv'``, iREPA's ``Conv2d(k, padding=k//2)`` on the token
            grid (``projector_dim`` is then unused).
        projector_kernel_size (int): k of the conv projector (3).
        spatial_norm (float | dict, optional): iREPA's spatial
            normalisation of the targets, ``y ← (y − γ·mean_T y) /
            (std_T y + ε)`` over the T tokens; a float is γ (iREPA: 0.6 on
            SiT), a dict gives ``gamma`` and ``eps``. ``None``: off (REPA).
        resample_tokens (bool): allow target tokens on another grid than
            the tapped hidden state's (e.g. 16 x 16 DINOv2 tokens against an
            8 x 8 backbone): they are area-averaged or bilinearly
            interpolated to it, with a warning once. ``False`` (default)
            makes a mismatch an error: REPA matches the grids by the
            encoder's input size (the encoder's ``grid_size``), and a
            silently resampled target is a different objective.
        align_prefix (bool): also align the backbone's prefix tokens (REG's
            class token position) with the target's: the (single) target
            then carries the encoder's class token first, ``[z_cls,
            z_1..z_T]`` (``FlowMatching(class_token=...)`` supplies it), and
            the cosine is averaged over all T + 1 positions, as REG's
            release does. ``False``: prefix tokens are skipped (REPA).

    Call :meth:`bind` once with the backbone (the algorithm does), run the
    backbone, then :meth:`loss`.

    ``alignment_enabled`` (True) switches the aligner off, e.g. from
    :class:`~rgl.engine.hooks.AlignmentEarlyStopHook` (HASTE's early
    stop): :meth:`loss` then runs no encoder and no projector and returns
    its keys as exact zeros.
    """

    #: the loss keys, returned as zeros while the aligner is switched off
    loss_keys = ('loss_repa', 'repa_cos')

    def __init__(self,
                 encoders=(),
                 depth=None,
                 layer=None,
                 blocks_name='blocks',
                 in_dim=None,
                 projector_dim=2048,
                 loss_weight=0.5,
                 encoder_dims=None,
                 projector='mlp',
                 projector_kernel_size=3,
                 spatial_norm=None,
                 resample_tokens=False,
                 align_prefix=False):
        super().__init__()
        if (depth is None) == (layer is None):
            raise ConfigError('REPAAligner needs exactly one of `depth` '
                              '(1-indexed block) or `layer` (tap name)')
        if isinstance(encoders, (dict, nn.Module)):
            encoders = [encoders]
        built = [
            enc if isinstance(enc, nn.Module) else MODELS.build(enc)
            for enc in encoders
        ]
        for enc in built:
            enc.eval().requires_grad_(False)
        # A plain list: frozen encoders are not submodules, so they stay out
        # of checkpoints, the optimizer, the EMA copy and DDP's buckets.
        self._encoders = built
        if encoder_dims is None:
            encoder_dims = [self._encoder_dim(enc) for enc in built]
        elif built and list(encoder_dims) != [
                self._encoder_dim(e) for e in built
        ]:
            raise ConfigError(f'REPAAligner.encoder_dims {encoder_dims} '
                              'disagree with the encoders\' embed_dim')
        if not encoder_dims:
            raise ConfigError('REPAAligner needs `encoders` (or '
                              '`encoder_dims` with pre-extracted features)')
        self.encoder_dims = list(encoder_dims)
        self.depth, self.layer, self.blocks_name = depth, layer, blocks_name
        self.in_dim, self.projector_dim = in_dim, projector_dim
        self.loss_weight = loss_weight
        self.resample_tokens = bool(resample_tokens)
        self.align_prefix = bool(align_prefix)
        if self.align_prefix and (len(self.encoder_dims) != 1
                                  or projector != 'mlp'):
            raise ConfigError(
                'REPAAligner.align_prefix needs one encoder and the '
                "token-wise projector='mlp' (a class token has no place on a "
                'conv grid)')
        if projector not in PROJECTORS:
            raise ConfigError(f'REPAAligner.projector must be one of '
                              f'{PROJECTORS}, got {projector!r}')
        self.projector, self.projector_kernel_size = projector, \
            int(projector_kernel_size)
        self.spatial_norm = parse_spatial_norm(spatial_norm, 'REPAAligner')
        self.alignment_enabled = True
        self.projectors = None
        self.tap = None
        self.num_prefix_tokens = 0

    @staticmethod
    def _encoder_dim(encoder):
        dim = getattr(encoder, 'embed_dim', None)
        if not isinstance(dim, int):
            raise ConfigError(f'encoder {type(encoder).__name__} has no int '
                              '`embed_dim`')
        return dim

    @property
    def encoders(self):
        return self._encoders

    def __deepcopy__(self, memo):
        # Copies (mmengine's EMA model is one) share the frozen encoders:
        # copying DINOv2-B would cost ~350 MB for weights that never change.
        for enc in self._encoders:
            memo[id(enc)] = enc
        new = self.__class__.__new__(self.__class__)
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            new.__dict__[key] = copy.deepcopy(value, memo)
        return new

    def _apply(self, fn, *args, **kwargs):
        # keep the frozen encoders on the aligner's device
        super()._apply(fn, *args, **kwargs)
        for enc in self._encoders:
            enc._apply(fn, *args, **kwargs)
        return self

    def tap_name(self, backbone):
        if self.layer is not None:
            return self.layer
        blocks = getattr(backbone, self.blocks_name, None)
        if blocks is None:
            raise ConfigError(f'REPAAligner.depth needs `{self.blocks_name}` '
                              f'in {type(backbone).__name__}; give `layer` '
                              'instead')
        if not 1 <= self.depth <= len(blocks):
            raise ConfigError(f'REPAAligner.depth={self.depth} is beyond '
                              f'{type(backbone).__name__}, which has '
                              f'{len(blocks)} blocks (1..{len(blocks)})')
        return f'{self.blocks_name}.{self.depth - 1}'

    def bind(self, backbone):
        """Attach the feature tap to ``backbone`` and build the projectors."""
        if self.tap is not None:
            self.tap.remove()
        self.tap = FeatureTap(backbone, self.tap_name(backbone))
        # DDT: REPA belongs in the condition encoder, not the velocity decoder
        enc = getattr(backbone, 'num_encoder_blocks', None)
        if self.depth is not None and isinstance(enc, int) and \
                self.depth > enc:
            warnings.warn(f'REPAAligner.depth={self.depth} taps the decoder '
                          f'of {type(backbone).__name__} (its encoder is '
                          f'blocks 1..{enc})')
        # timm ViTs put CLS/register tokens first; only patch tokens align
        prefix = getattr(backbone, 'num_prefix_tokens', 0)
        self.num_prefix_tokens = prefix if isinstance(prefix, int) else 0
        in_dim = self.in_dim or infer_width(backbone)
        if in_dim is None:
            raise ConfigError(f'REPAAligner.in_dim is required: cannot read '
                              f'the width of {type(backbone).__name__}')
        if self.projectors is None:
            self.in_dim = in_dim
            self.projectors = nn.ModuleList([
                build_projector(in_dim, self.projector_dim, d,
                                self.projector, self.projector_kernel_size)
                for d in self.encoder_dims
            ])
        return self

    @torch.no_grad()
    def encode(self, images):
        """Target tokens y*_k (N, T_k, D_k) of clean images in [0, 1]."""
        return [enc(images) for enc in self._encoders]

    def project(self, hidden):
        """h_φ^k(h) for every encoder k: list of (N, T, D_k)."""
        # the conv projector takes feature maps as they are
        inputs = hidden if self.projector == 'conv' and hidden.dim() == 4 \
            else as_tokens(hidden)
        return [proj(inputs) for proj in self.projectors]

    def normalize_target(self, target):
        """iREPA's spatial normalisation of y* when configured."""
        if self.spatial_norm is None:
            return target
        return spatial_normalize(target, **self.spatial_norm)

    def disabled_terms(self):
        """The loss keys as exact zeros (no graph), for a switched-off
        aligner: the logs keep their keys and the sum its value."""
        param = next(self.parameters(), None)
        device = param.device if param is not None else 'cpu'
        return {key: torch.zeros((), device=device) for key in self.loss_keys}

    def discard(self):
        """Forget what the backbone recorded for a switched-off step."""
        if self.tap is not None:
            self.tap.output = None

    def match_grid(self, target, num_tokens, name):
        """The targets on the tapped layer's token grid; a different grid
        is resampled only with ``resample_tokens=True``."""
        if target.shape[1] != num_tokens and not self.resample_tokens:
            tap = self.tap.name if self.tap is not None else 'the tap'
            raise ConfigError(
                f'REPAAligner: {name} gives {describe_grid(target.shape[1])} '
                f'but the backbone\'s {tap} gives '
                f'{describe_grid(num_tokens)}; set the encoder\'s grid_size '
                f'to the backbone\'s grid (REPA\'s way), or '
                f'REPAAligner.resample_tokens=True to resample the targets')
        return match_token_grid(target, num_tokens, f'REPAAligner ({name})')

    @staticmethod
    def negative_cosine(z_pred, z_target):
        """Mean over batch and tokens of −cos(z̃, y*), in fp32 (fp16
        normalisation overflows: REPA issue #46)."""
        z_pred = F.normalize(z_pred.float(), dim=-1)
        z_target = F.normalize(z_target.float(), dim=-1)
        return -(z_pred * z_target).sum(-1).mean()

    def loss(self, images=None, features=None):
        """``dict(loss_repa=λ·L, repa_cos=mean cosine)`` after a forward
        pass of the bound backbone. ``features`` (pre-extracted target
        tokens, one per encoder) skip the encoders."""
        if self.tap is None:
            raise RuntimeError('REPAAligner.bind(backbone) was not called')
        if not self.alignment_enabled:
            self.discard()
            return self.disabled_terms()
        if features is None:
            if images is None:
                raise ConfigError('REPAAligner.loss needs `images` or '
                                  'pre-extracted `features`')
            features = self.encode(images)
        if len(features) != len(self.projectors):
            raise ConfigError(f'REPAAligner has {len(self.projectors)} '
                              f'projectors but got {len(features)} feature '
                              'sets')
        hidden = self.tap.pop()
        prefix = self.num_prefix_tokens if hidden.dim() == 3 else 0
        if prefix and not self.align_prefix:
            hidden, prefix = hidden[:, prefix:], 0
        preds = self.project(hidden)
        terms = []
        for k, (pred, target) in enumerate(zip(preds, features)):
            name = type(self._encoders[k]).__name__ if self._encoders \
                else f'features[{k}]'
            target = target.to(pred.device)
            if prefix:  # [class token(s); patch tokens], as the hidden state
                head, target = target[:, :prefix], target[:, prefix:]
            target = self.match_grid(target, pred.shape[1] - prefix, name)
            target = self.normalize_target(target)
            if prefix:
                target = torch.cat([head.to(target.dtype), target], dim=1)
            terms.append(self.negative_cosine(pred, target))
        neg_cos = torch.stack(terms).mean()
        return dict(loss_repa=self.loss_weight * neg_cos,
                    repa_cos=-neg_cos.detach())
