"""timm Vision Transformers as frozen encoders (DINOv2, MoCo v3, ...)."""
import re

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError
from .base import (IMAGENET_MEAN, IMAGENET_STD, FrozenEncoder,
                   check_state_dict, resolve_input_size)


def _unchunk_blocks(state_dict):
    # DINOv2 training checkpoints may group blocks ("blocks.<chunk>.<i>.");
    # the block index i is global, so dropping the chunk gives timm's key.
    if not any(re.match(r'blocks\.\d+\.\d+\.', k) for k in state_dict):
        return state_dict
    return {
        re.sub(r'^blocks\.\d+\.(\d+)\.', r'blocks.\1.', k): v
        for k, v in state_dict.items()
    }


def _patch_size(model_name):
    found = re.search(r'patch(\d+)', model_name)
    if not found:
        raise ConfigError(f'cannot read the patch size from timm model '
                          f'{model_name!r}; give model_kwargs.patch_size')
    return int(found.group(1))


@MODELS.register_module()
class TimmViTEncoder(FrozenEncoder):
    """Any timm ``VisionTransformer`` as a frozen encoder.

    Tokens are ``forward_features`` (after the final LayerNorm) without the
    class/register tokens. The position embedding is resampled once, when
    the checkpoint is loaded, to ``grid_size`` x ``grid_size``.

    Args:
        model_name (str): a timm architecture, e.g.
            ``'vit_base_patch14_dinov2'``.
        checkpoint (str, optional): local weights, in timm's layout or the
            original one of the family (see :meth:`convert_state_dict`).
        grid_size (int, optional): tokens per side (default 16).
        input_size (int, optional): image side; ``grid_size * patch``.
        mean, std (Sequence[float]): normalisation of the [0, 1] input.
        model_kwargs (dict, optional): overrides of the timm architecture
            (tests build tiny ones: ``dict(embed_dim=32, depth=2)``).
    """

    prefixes = ()

    def __init__(self, model_name, checkpoint=None, grid_size=None,
                 input_size=None, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                 interpolation='bicubic', model_kwargs=None):
        super().__init__()
        import timm
        kwargs = dict(model_kwargs or {})
        self.patch_size = kwargs.get('patch_size') or _patch_size(model_name)
        input_size = resolve_input_size(self.patch_size, input_size,
                                        grid_size, owner=type(self).__name__)
        try:
            # built at the target size: timm sizes pos_embed for img_size
            self.model = timm.create_model(
                model_name, pretrained=False, num_classes=0,
                img_size=input_size, **kwargs)
        except RuntimeError as err:  # unknown architecture
            raise ConfigError(f'{type(self).__name__}.model_name: {err}') \
                from None
        self.model_name = model_name
        self.embed_dim = self.model.embed_dim
        self.num_prefix_tokens = self.model.num_prefix_tokens
        self._init_preprocess(input_size, mean, std, interpolation)
        if checkpoint is None:
            self.warn_random(type(self).__name__)
        else:
            self.load_checkpoint(checkpoint)
        self.freeze()

    def convert_state_dict(self, state_dict):
        """Original layouts -> timm's; timm's own passes through. Position
        embeddings are resampled to this encoder's grid here."""
        from timm.models.vision_transformer import checkpoint_filter_fn
        state_dict = _unchunk_blocks(state_dict)
        state_dict = {
            k: v
            for k, v in state_dict.items() if not k.startswith('head')
        }
        return checkpoint_filter_fn(state_dict, self.model)

    def load_checkpoint(self, path):
        sd = self.convert_state_dict(self.load_file(path, self.prefixes))
        check_state_dict(self.model, sd, path,
                         f'{type(self).__name__}({self.model_name})')

    def forward_tokens(self, x):
        return self.model.forward_features(x)[:, self.num_prefix_tokens:]

    def attention_modules(self):
        return [block.attn for block in self.model.blocks]


_DINOV2_ARCHS = dict(vit_s='vit_small', vit_b='vit_base', vit_l='vit_large',
                     vit_g='vit_giant')


@MODELS.register_module()
class DINOv2Encoder(TimmViTEncoder):
    """DINOv2 (Oquab et al., 2024) ViT-S/B/L/G /14, optionally with 4
    registers (Darcet et al., 2024), on timm's architectures.

    Loads the official torch.hub state dicts (``dinov2_vitb14_pretrain.pth``,
    ``..._reg4_pretrain.pth``: ``cls_token``, ``register_tokens``,
    ``mask_token``, ``blocks.i.ls1.gamma``, ``mlp.w12`` for ViT-g) and timm's
    ``vit_*_patch14_dinov2`` weights. Tokens are the normalised patch tokens
    (``x_norm_patchtokens``), as REPA uses them.

    Args:
        arch (str): ``'vit_s' | 'vit_b' | 'vit_l' | 'vit_g'``.
        registers (bool): the ``reg4`` variant.
        checkpoint, grid_size, input_size, kwargs: as for
            :class:`TimmViTEncoder`; ``grid_size=16`` is REPA's 224².
    """

    def __init__(self, arch='vit_b', registers=False, checkpoint=None,
                 grid_size=None, input_size=None, **kwargs):
        if arch not in _DINOV2_ARCHS:
            raise ConfigError(f'DINOv2Encoder.arch must be one of '
                              f'{sorted(_DINOV2_ARCHS)}, got {arch!r}')
        name = (f'{_DINOV2_ARCHS[arch]}_patch14_'
                f'{"reg4_" if registers else ""}dinov2')
        super().__init__(name, checkpoint=checkpoint, grid_size=grid_size,
                         input_size=input_size, **kwargs)


_MOCO_ARCHS = dict(vit_s='vit_small_patch16_224', vit_b='vit_base_patch16_224',
                   vit_l='vit_large_patch16_224')


@MODELS.register_module()
class MoCoV3Encoder(TimmViTEncoder):
    """MoCo v3 (Chen et al., 2021) ViT-S/B/L /16 on timm's ViT.

    Loads the official ``vit-b-300ep.pth.tar`` (``state_dict`` with
    ``module.base_encoder.`` keys; the momentum encoder and the projection
    heads are dropped) or a plain timm-layout state dict. REPA feeds it the
    256² image unresized: 16 x 16 tokens (the default grid).
    """

    prefixes = ('module.base_encoder.', 'base_encoder.')

    def __init__(self, arch='vit_b', checkpoint=None, grid_size=None,
                 input_size=None, **kwargs):
        if arch not in _MOCO_ARCHS:
            raise ConfigError(f'MoCoV3Encoder.arch must be one of '
                              f'{sorted(_MOCO_ARCHS)}, got {arch!r}')
        super().__init__(_MOCO_ARCHS[arch], checkpoint=checkpoint,
                         grid_size=grid_size, input_size=input_size, **kwargs)
