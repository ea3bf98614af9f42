"""Attention logits of chosen blocks of a frozen encoder (for HASTE).

HASTE distils the teacher's attention maps ``softmax(q kᵀ / √d)`` of some
blocks into the generator's. The encoders keep their fast fused attention:
a forward hook on each chosen attention module recomputes q and k from the
module's input (one extra ``qkv`` projection per chosen block, under
``no_grad``) and returns the logits ``S = q kᵀ / √d`` (N, H, T, T). It works
for the three attention layouts rgl's encoders contain: timm's ``Attention``
(DINOv2, MoCo v3), mmpretrain's ``MultiheadAttention`` (MAE) and
``nn.MultiheadAttention`` (open_clip's CLIP towers), and rgl's own
:class:`~rgl.models.backbones.dit_blocks.Attention`.
"""
import torch.nn.functional as F
from torch import nn

from rgl.utils.errors import ConfigError


def _heads(module):
    for attr in ('num_heads', 'n_heads'):
        value = getattr(module, attr, None)
        if isinstance(value, int):
            return value
    raise ConfigError(f'{type(module).__name__}: cannot read its number of '
                      'heads')


def attention_logits(module, x):
    """``S = q kᵀ / √d`` (N, H, T, T) that ``module`` computes for its input
    tokens ``x`` (N, T, D), applying its q/k normalisation where it has
    one."""
    if isinstance(module, nn.MultiheadAttention):
        if not module.batch_first:
            x = x.transpose(0, 1)
        if module.in_proj_weight is None:
            raise ConfigError('nn.MultiheadAttention with separate q/k/v '
                              'projections is not supported')
        qkv = F.linear(x, module.in_proj_weight, module.in_proj_bias)
    elif isinstance(getattr(module, 'qkv', None), nn.Linear):
        qkv = module.qkv(x)
    else:
        raise ConfigError(f'{type(module).__name__} has no fused `qkv` '
                          'projection: its attention maps cannot be read')
    n, t, _ = qkv.shape
    heads = _heads(module)
    qkv = qkv.reshape(n, t, 3, heads, -1).permute(2, 0, 3, 1, 4)
    q, k = qkv[0], qkv[1]
    for name, norm_name in ((0, 'q_norm'), (1, 'k_norm')):
        norm = getattr(module, norm_name, None)
        if isinstance(norm, nn.Module):
            if name == 0:
                q = norm(q)
            else:
                k = norm(k)
    scale = q.shape[-1]**-0.5
    return (q * scale) @ k.transpose(-2, -1)


class AttentionCapture:
    """Context manager recording :func:`attention_logits` of ``modules``.

    Example::

        with AttentionCapture([vit.blocks[i].attn for i in (8, 9)]) as cap:
            vit(x)
        maps = cap.logits  # two (N, H, T, T) tensors, in module order
    """

    def __init__(self, modules):
        self.modules = list(modules)
        self.logits = [None] * len(self.modules)
        self._handles = []

    def __enter__(self):
        for i, module in enumerate(self.modules):
            self._handles.append(
                module.register_forward_hook(self._make_hook(i),
                                             with_kwargs=True))
        return self

    def _make_hook(self, index):

        def hook(module, args, kwargs, output):
            x = args[0] if args else next(iter(kwargs.values()))
            self.logits[index] = attention_logits(module, x)

        return hook

    def __exit__(self, *exc):
        for handle in self._handles:
            handle.remove()
        self._handles = []
        return False


def pick_blocks(modules, blocks, owner):
    """``modules[i]`` for every 0-based ``i`` in ``blocks``, with an error
    naming the valid range."""
    modules = list(modules)
    bad = [b for b in blocks if not 0 <= int(b) < len(modules)]
    if bad:
        raise ConfigError(f'{owner}: attention blocks {bad} do not exist; '
                          f'it has blocks 0..{len(modules) - 1} (0-indexed)')
    return [modules[int(b)] for b in blocks]


def drop_prefix(logits, num_prefix_tokens):
    """Keep the patch-to-patch part of (N, H, T, T) logits: the class and
    register rows and columns go, and a softmax over the remaining keys
    renormalises the map (HASTE removes DINOv2's class token so)."""
    p = int(num_prefix_tokens)
    return logits[:, :, p:, p:] if p else logits
