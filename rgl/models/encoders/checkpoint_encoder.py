"""Any rgl model (config + checkpoint) as a frozen encoder, via a tap."""
import math

from mmengine.config import Config

from rgl.registry import MODELS
from rgl.utils.assets import resolve_asset
from rgl.utils.errors import ConfigError
from ..utils.feature_tap import FeatureTap
from .base import FrozenEncoder, check_state_dict


@MODELS.register_module()
class CheckpointEncoder(FrozenEncoder):
    """Tokens of any rgl-trainable model read at a feature tap.

    The model is built from ``config`` (a config file path, a Config or a
    model dict), its weights loaded from ``checkpoint`` (an rgl/mmengine
    checkpoint with ``state_dict``, or a plain state dict), and it is run
    as ``model(x, mode='tensor')``; the output of layer ``tap`` is the
    representation. Token outputs (N, T', D) drop their first
    ``num_prefix_tokens``; feature maps (N, D, h, w) become (N, h·w, D).

    Args:
        config: path of an rgl config (its ``model``; a relative
            ``configs/...`` path missing here is rgl's shipped config), a
            Config, or a dict.
        checkpoint (str, optional): the weights; ``None`` keeps random ones.
        tap (str): dotted name of the layer to read, e.g.
            ``'backbone.layers.3'`` or ``'backbone.layer3'``.
        input_size (int): side the images are resized to (the size the
            model was trained at).
        patch_size (int): pixels per output token side (sets grid_size).
        num_prefix_tokens (int): class/register tokens to drop.
        mean, std: normalisation applied before the model (``None``: the
            model gets [0, 1] images, rgl's convention).
        channels (int): input channels the model expects (1 or 3).
    """

    def __init__(self, config, checkpoint=None, tap='backbone',
                 input_size=32, patch_size=1, num_prefix_tokens=0, mean=None,
                 std=None, channels=3, interpolation='bicubic'):
        super().__init__()
        cfg = config
        if isinstance(cfg, str):
            # rgl's own configs/... resolve from any folder
            cfg = Config.fromfile(resolve_asset(cfg))
        if hasattr(cfg, 'model') and not isinstance(cfg, dict) or (
                isinstance(cfg, dict) and 'model' in cfg
                and 'type' not in cfg):
            cfg = cfg['model']
        if not isinstance(cfg, dict) or 'type' not in cfg:
            raise ConfigError(f'CheckpointEncoder.config must be a config '
                              f'file, Config or model dict, got {config!r}')
        from mmengine.registry import DefaultScope
        with DefaultScope.overwrite_default_scope('rgl'):
            self.model = MODELS.build(cfg)
        self.patch_size = int(patch_size)
        self.num_prefix_tokens = int(num_prefix_tokens)
        self.channels = int(channels)
        self.tap_name = tap
        self._init_preprocess(input_size, mean or [0.] * self.channels,
                              std or [1.] * self.channels, interpolation)
        if checkpoint is None:
            self.warn_random('CheckpointEncoder')
        else:
            sd = self.load_file(checkpoint)
            check_state_dict(self.model, sd, checkpoint,
                             f'CheckpointEncoder({cfg["type"]})')
        self._tap = FeatureTap(self.model, tap)
        self.freeze()
        self.embed_dim = self._probe_dim()

    def _probe_dim(self):
        import torch
        x = torch.zeros(1, 3, self.input_size, self.input_size)
        tokens = self(x)
        self.grid_size = math.isqrt(tokens.shape[1])
        return int(tokens.shape[-1])

    def preprocess(self, x):
        x = super().preprocess(x) if self.channels == 3 else \
            super().preprocess(x.mean(1, keepdim=True).expand(-1, 3, -1, -1)
                               )[:, :1]
        return x

    def forward_tokens(self, x):
        self.model(x, mode='tensor')
        out = self._tap.pop()
        if out.dim() == 4:  # (N, D, h, w) feature map
            return out.flatten(2).transpose(1, 2)
        if out.dim() != 3:
            raise ConfigError(f'CheckpointEncoder: tap `{self.tap_name}` '
                              f'gives shape {tuple(out.shape)}, not tokens '
                              f'(N, T, D) or a feature map (N, D, h, w)')
        return out[:, self.num_prefix_tokens:]
