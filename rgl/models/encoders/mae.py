"""MAE ViT (mmpretrain) as a frozen patch-token encoder."""
import re

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError
from .base import (IMAGENET_MEAN, IMAGENET_STD, FrozenEncoder,
                   check_state_dict, resolve_input_size)

# official MAE / timm ViT names -> mmpretrain VisionTransformer names
_TIMM_TO_MMPRETRAIN = [
    (r'^patch_embed\.proj\.', 'patch_embed.projection.'),
    (r'^blocks\.(\d+)\.norm1\.', r'layers.\1.ln1.'),
    (r'^blocks\.(\d+)\.norm2\.', r'layers.\1.ln2.'),
    (r'^blocks\.(\d+)\.attn\.', r'layers.\1.attn.'),
    (r'^blocks\.(\d+)\.mlp\.fc1\.', r'layers.\1.ffn.layers.0.0.'),
    (r'^blocks\.(\d+)\.mlp\.fc2\.', r'layers.\1.ffn.layers.1.'),
    (r'^norm\.', 'ln1.'),
]


def mae_timm_to_mmpretrain(state_dict):
    """The official MAE checkpoint (``mae_pretrain_vit_base.pth``, timm
    names) in mmpretrain's ``MAEViT`` names; decoder and mask token go."""
    out = {}
    for k, v in state_dict.items():
        if k.startswith(('decoder', 'mask_token', 'head', 'fc_norm')):
            continue
        for pattern, repl in _TIMM_TO_MMPRETRAIN:
            k = re.sub(pattern, repl, k)
        out[k] = v
    return out


@MODELS.register_module()
class MAEEncoder(FrozenEncoder):
    """The encoder of an MAE (He et al., 2022): mmpretrain's ``MAEViT``
    without masking.

    Tokens are the patch tokens after the final LayerNorm. The position
    embedding is resized by mmpretrain when the grid differs from the one
    the weights were trained at.

    Args:
        arch (str | dict): mmpretrain ViT arch (``'b'``, ``'l'``, ``'h'``)
            or a dict with ``embed_dims``, ``num_layers``, ``num_heads``,
            ``feedforward_channels``.
        patch_size (int): 16 for the released MAEs.
        checkpoint (str, optional): an mmpretrain MAE/ViT checkpoint
            (``backbone.*`` keys), a plain ``MAEViT`` state dict, or the
            official MAE release (timm names, converted here).
        grid_size / input_size: as for every encoder (REPA: 256² input,
            16 x 16 tokens).
        mean, std: ImageNet statistics for the released MAEs; ``None``
            for an MAE trained on [0, 1] pixels (rgl's digits encoder).
    """

    def __init__(self, arch='l', patch_size=16, checkpoint=None,
                 grid_size=None, input_size=None, mean=IMAGENET_MEAN,
                 std=IMAGENET_STD, interpolation='bicubic'):
        super().__init__()
        self.patch_size = int(patch_size)
        input_size = resolve_input_size(self.patch_size, input_size,
                                        grid_size, owner='MAEEncoder')
        try:
            self.vit = MODELS.build(
                dict(type='mmpretrain.MAEViT', arch=arch,
                     img_size=input_size,
                     patch_size=self.patch_size, out_type='raw',
                     final_norm=True))
        except (KeyError, AssertionError) as err:
            raise ConfigError(f'MAEEncoder.arch: {err}') from None
        self.embed_dim = self.vit.embed_dims
        self.num_prefix_tokens = self.vit.num_extra_tokens
        self._init_preprocess(input_size, mean, std, interpolation)
        if checkpoint is None:
            self.warn_random('MAEEncoder')
        else:
            self.load_checkpoint(checkpoint)
        self.freeze()

    def load_checkpoint(self, path):
        sd = self.load_file(path, ('backbone.', ))
        if any(k.startswith('blocks.') for k in sd):
            sd = mae_timm_to_mmpretrain(sd)
        pos = sd.get('pos_embed')
        if pos is not None and pos.dim() == 3 \
                and pos.shape != self.vit.pos_embed.shape:
            # resample once to this encoder's grid (class token kept)
            from mmpretrain.models.utils import resize_pos_embed
            old = int(round((pos.shape[1] - 1)**0.5))
            sd['pos_embed'] = resize_pos_embed(
                pos, (old, old), (self.grid_size, self.grid_size),
                mode='bicubic', num_extra_tokens=1)
        check_state_dict(self.vit, sd, path, 'MAEEncoder')

    def forward_tokens(self, x):
        # mask=None: MAEViT's plain ViT path (mask=False would still mask)
        tokens = self.vit(x, mask=None)[-1]
        return tokens[:, self.vit.num_extra_tokens:]

    def attention_modules(self):
        return [layer.attn for layer in self.vit.layers]
