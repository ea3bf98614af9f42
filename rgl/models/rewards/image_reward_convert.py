"""The released ``ImageReward.pt`` layout and rgl's :class:`ImageRewardNet`.

The release is a plain state dict of the official ``ImageReward`` module
(``torch.save(model.state_dict())``): ``blip.visual_encoder.*`` (BLIP's
timm-style ViT), ``blip.text_encoder.*`` (BLIP's ``med.py`` BERT, whose
names transformers' ``BlipTextModel`` kept), ``blip.vision_proj.*``,
``blip.text_proj.*`` and ``mlp.layers.*``. Only the ViT names differ
(official ``blip.visual_encoder.`` -> rgl ``visual_encoder.``):

- ``cls_token`` -> ``embeddings.class_embedding``
- ``pos_embed`` -> ``embeddings.position_embedding``
- ``patch_embed.proj.*`` -> ``embeddings.patch_embedding.*``
- ``blocks.i.norm1/norm2.*`` -> ``encoder.layers.i.layer_norm1/2.*``
- ``blocks.i.attn.qkv.*`` -> ``encoder.layers.i.self_attn.qkv.*``
- ``blocks.i.attn.proj.*`` -> ``encoder.layers.i.self_attn.projection.*``
- ``blocks.i.mlp.fc1/fc2.*`` -> ``encoder.layers.i.mlp.fc1/fc2.*``
- ``norm.*`` -> ``post_layernorm.*``

``blip.text_encoder.embeddings.position_ids`` (a persistent buffer in
``med.py``, non-persistent in transformers) must be ``arange`` and is
dropped. Checking happens in the official names, so a mismatch names the
key as it is (or should be) in the user's file.
"""
import re

import torch

from rgl.utils.checkpoint import (check_state_dict, load_state_dict_file,
                                  state_dict_of)
from rgl.utils.errors import CheckpointError

POSITION_IDS = 'blip.text_encoder.embeddings.position_ids'

# (official ViT name, rgl name) patterns, both anchored after the prefix.
_VIT_RULES = (
    (r'cls_token', r'embeddings.class_embedding'),
    (r'pos_embed', r'embeddings.position_embedding'),
    (r'patch_embed\.proj\.(\w+)', r'embeddings.patch_embedding.\1'),
    (r'blocks\.(\d+)\.norm1\.(\w+)', r'encoder.layers.\1.layer_norm1.\2'),
    (r'blocks\.(\d+)\.norm2\.(\w+)', r'encoder.layers.\1.layer_norm2.\2'),
    (r'blocks\.(\d+)\.attn\.qkv\.(\w+)',
     r'encoder.layers.\1.self_attn.qkv.\2'),
    (r'blocks\.(\d+)\.attn\.proj\.(\w+)',
     r'encoder.layers.\1.self_attn.projection.\2'),
    (r'blocks\.(\d+)\.mlp\.(fc[12])\.(\w+)', r'encoder.layers.\1.mlp.\2.\3'),
    (r'norm\.(\w+)', r'post_layernorm.\1'),
)


def _apply(rules, name):
    for src, dst in rules:
        m = re.fullmatch(src, name)
        if m:
            return m.expand(dst)
    return None


_BLIP_PARTS = ('blip.text_encoder.', 'blip.vision_proj.', 'blip.text_proj.')


def official_to_rgl(key):
    """The rgl name of an official key; unknown keys come back unchanged
    (so that they are reported as unexpected under their own name)."""
    if key.startswith('blip.visual_encoder.'):
        new = _apply(_VIT_RULES, key[len('blip.visual_encoder.'):])
        return key if new is None else 'visual_encoder.' + new
    if key.startswith(_BLIP_PARTS):
        return key[len('blip.'):]
    return key


_RGL_VIT_RULES = (
    (r'embeddings\.class_embedding', 'cls_token'),
    (r'embeddings\.position_embedding', 'pos_embed'),
    (r'embeddings\.patch_embedding\.(\w+)', r'patch_embed.proj.\1'),
    (r'encoder\.layers\.(\d+)\.layer_norm1\.(\w+)', r'blocks.\1.norm1.\2'),
    (r'encoder\.layers\.(\d+)\.layer_norm2\.(\w+)', r'blocks.\1.norm2.\2'),
    (r'encoder\.layers\.(\d+)\.self_attn\.qkv\.(\w+)',
     r'blocks.\1.attn.qkv.\2'),
    (r'encoder\.layers\.(\d+)\.self_attn\.projection\.(\w+)',
     r'blocks.\1.attn.proj.\2'),
    (r'encoder\.layers\.(\d+)\.mlp\.(fc[12])\.(\w+)', r'blocks.\1.mlp.\2.\3'),
    (r'post_layernorm\.(\w+)', r'norm.\1'),
)


def rgl_to_official(key):
    """The official name of an rgl key (inverse of
    :func:`official_to_rgl`)."""
    if key.startswith('visual_encoder.'):
        new = _apply(_RGL_VIT_RULES, key[len('visual_encoder.'):])
        if new is None:
            raise KeyError(f'no official name for {key}')
        return 'blip.visual_encoder.' + new
    if key.startswith(('text_encoder.', 'vision_proj.', 'text_proj.')):
        return 'blip.' + key
    return key


class _OfficialView:
    """The model's state dict under the official names, for
    :func:`check_state_dict` (which only calls ``state_dict()``)."""

    def __init__(self, model):
        self.model = model

    def state_dict(self):
        return {rgl_to_official(k): v
                for k, v in self.model.state_dict().items()}


def load_official_weights(model, path):
    """Load ``ImageReward.pt`` (official layout) into ``model`` strictly.

    Args:
        model (ImageRewardNet): the network to fill.
        path (str): the local checkpoint (a plain state dict; an mmengine
            ``state_dict`` entry or a DDP ``module.`` prefix is accepted).

    Raises:
        CheckpointError: unreadable file, a key missing, unexpected or of
            another shape (named as in the official layout), or a
            ``position_ids`` buffer that is not ``arange``.
    """
    state = dict(state_dict_of(load_state_dict_file(path)))
    pos = state.pop(POSITION_IDS, None)
    if pos is not None:
        want = torch.arange(pos.shape[-1]).expand(1, -1)
        if tuple(pos.shape) != tuple(want.shape) or not torch.equal(
                pos.long(), want):
            raise CheckpointError(f'{path}: {POSITION_IDS} is not '
                                  '0, 1, 2, ... (not an ImageReward file?)')
    check_state_dict(_OfficialView(model), state, path, strict=True)
    model.load_state_dict({official_to_rgl(k): v for k, v in state.items()},
                          strict=True)
    return model
