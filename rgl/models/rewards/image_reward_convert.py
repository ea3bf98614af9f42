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
import functools
import re

import torch

from rgl.utils.checkpoint import (check_state_dict, load_state_dict_file,
                                  state_dict_of)
from rgl.utils.errors import CheckpointError

POSITION_IDS = 'blip.text_encoder.embeddings.position_ids'

# (official ViT name, rgl name) templates after the prefix; one table
# serves both directions. Slots: {i} a block index, {fc} fc1/fc2, {p} a
# parameter name.
_VIT_NAMES = (
    ('cls_token', 'embeddings.class_embedding'),
    ('pos_embed', 'embeddings.position_embedding'),
    ('patch_embed.proj.{p}', 'embeddings.patch_embedding.{p}'),
    ('blocks.{i}.norm1.{p}', 'encoder.layers.{i}.layer_norm1.{p}'),
    ('blocks.{i}.norm2.{p}', 'encoder.layers.{i}.layer_norm2.{p}'),
    ('blocks.{i}.attn.qkv.{p}', 'encoder.layers.{i}.self_attn.qkv.{p}'),
    ('blocks.{i}.attn.proj.{p}',
     'encoder.layers.{i}.self_attn.projection.{p}'),
    ('blocks.{i}.mlp.{fc}.{p}', 'encoder.layers.{i}.mlp.{fc}.{p}'),
    ('norm.{p}', 'post_layernorm.{p}'),
)
_SLOTS = dict(i=r'\d+', fc='fc[12]', p=r'\w+')


@functools.lru_cache(maxsize=None)
def _template_regex(template):
    """``'blocks.{i}.norm1.{p}'`` → a regex with a named group per slot."""
    parts = re.split(r'\{(\w+)\}', template)
    return re.compile(''.join(
        re.escape(part) if k % 2 == 0 else f'(?P<{part}>{_SLOTS[part]})'
        for k, part in enumerate(parts)))


def _rename(name, to_rgl):
    """``name`` through :data:`_VIT_NAMES`, official → rgl or back; None
    when no template matches."""
    for official, ours in _VIT_NAMES:
        src, dst = (official, ours) if to_rgl else (ours, official)
        m = _template_regex(src).fullmatch(name)
        if m:
            return dst.format(**m.groupdict())
    return None


_BLIP_PARTS = ('blip.text_encoder.', 'blip.vision_proj.', 'blip.text_proj.')


def official_to_rgl(key):
    """The rgl name of an official key; unknown keys come back unchanged
    (so that they are reported as unexpected under their own name)."""
    if key.startswith('blip.visual_encoder.'):
        new = _rename(key[len('blip.visual_encoder.'):], to_rgl=True)
        return key if new is None else 'visual_encoder.' + new
    if key.startswith(_BLIP_PARTS):
        return key[len('blip.'):]
    return key


def rgl_to_official(key):
    """The official name of an rgl key (inverse of
    :func:`official_to_rgl`)."""
    if key.startswith('visual_encoder.'):
        new = _rename(key[len('visual_encoder.'):], to_rgl=False)
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
