"""CLIP visual tower (open_clip) as a frozen patch-token encoder."""
from rgl.registry import MODELS
from rgl.utils.errors import ConfigError
from .base import (CLIP_MEAN, CLIP_STD, FrozenEncoder, check_state_dict,
                   resolve_input_size)


@MODELS.register_module()
class CLIPEncoder(FrozenEncoder):
    """The image tower of CLIP (Radford et al., 2021) from open_clip.

    Tokens are the patch tokens after ``ln_post`` (no class token, before
    the projection to the joint space), so D is the tower width (1024 for
    ViT-L/14, REPA's ``clip-vit-L``).

    Args:
        model_name (str): an open_clip architecture. OpenAI's released
            weights need the QuickGELU variants (``'ViT-L-14-quickgelu'``);
            a wrong activation loads without a key error but gives wrong
            features.
        checkpoint (str, optional): a local CLIP state dict: a full
            open_clip/OpenAI model (``visual.*`` keys; the text tower is
            ignored) or the visual tower alone.
        grid_size / input_size: as for every encoder (default 16 a side).
        vision_cfg (dict, optional): overrides of the architecture's
            ``vision_cfg`` (tests build tiny towers).
    """

    def __init__(self, model_name='ViT-L-14', checkpoint=None, grid_size=None,
                 input_size=None, mean=CLIP_MEAN, std=CLIP_STD,
                 interpolation='bicubic', vision_cfg=None):
        super().__init__()
        import open_clip
        from open_clip.model import _build_vision_tower
        cfg = open_clip.get_model_config(model_name)
        if cfg is None:
            raise ConfigError(f'CLIPEncoder.model_name: unknown open_clip '
                              f'architecture {model_name!r}')
        vcfg = dict(cfg['vision_cfg'], **(vision_cfg or {}))
        if 'timm_model_name' in vcfg and vcfg['timm_model_name']:
            raise ConfigError(f'CLIPEncoder: {model_name} has a timm tower; '
                              f'use TimmViTEncoder for it')
        self.patch_size = int(vcfg['patch_size'])
        input_size = resolve_input_size(self.patch_size, input_size,
                                        grid_size, owner='CLIPEncoder')
        vcfg['image_size'] = input_size
        self.model_name = model_name
        self.visual = _build_vision_tower(cfg['embed_dim'], vcfg,
                                          quick_gelu=cfg.get('quick_gelu',
                                                             False))
        self.visual.output_tokens = True
        self.embed_dim = int(vcfg['width'])
        self._init_preprocess(input_size, mean, std, interpolation)
        if checkpoint is None:
            self.warn_random('CLIPEncoder')
        else:
            self.load_checkpoint(checkpoint)
        self.freeze()

    def load_checkpoint(self, path):
        from timm.layers import resample_abs_pos_embed
        sd = self.load_file(path, ('module.visual.', 'visual.'))
        pos = sd.get('positional_embedding')
        own = self.visual.positional_embedding
        if pos is not None and pos.shape != own.shape and pos.dim() == 2:
            # (1 + g², D): class token first, then a square grid
            old = int(round((pos.shape[0] - 1)**0.5))
            sd['positional_embedding'] = resample_abs_pos_embed(
                pos[None], new_size=(self.grid_size, self.grid_size),
                old_size=(old, old), num_prefix_tokens=1)[0]
        check_state_dict(self.visual, sd, path,
                         f'CLIPEncoder({self.model_name})')

    def forward_tokens(self, x):
        _, tokens = self.visual(x)
        return tokens

    @property
    def num_prefix_tokens(self):
        # the class token precedes the patch tokens inside the tower
        return int(getattr(self.visual, 'class_embedding', None) is not None)

    def attention_modules(self):
        return [block.attn for block in self.visual.transformer.resblocks]
