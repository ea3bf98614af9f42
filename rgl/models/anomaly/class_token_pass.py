"""The transformer pass of WinCLIP's window sequences.

A window embedding is the projected class token of a short sequence
``[cls; window tokens]`` after the last block. Two things make this pass
cheaper than calling open_clip's ``Transformer`` on the batch of windows,
with the same function (float rounding aside):

- **Last block for the class token only.** Every block but the last must
  run on all tokens (they are the keys and values of the next block); in
  the last block only the class token's row is read, so the window tokens
  contribute their keys and values and nothing else. For 2×2 and 3×3
  windows (5 and 10 tokens) that skips 4/5 and 9/10 of the last block's
  output projection and MLP.
- **Batch-first attention.** ``nn.MultiheadAttention`` leaves its fused
  fast path under autocast and then transposes a batch-first input to
  sequence-first before the input projection; for thousands of short
  sequences that projection becomes a batched matmul against a copy of
  the weight per token position (on ViT-B-16-plus-240 in bf16 a third of
  the pass). Here the projection is one matrix product on the contiguous
  ``(S·T, W)`` tokens and the attention is
  ``F.scaled_dot_product_attention`` on ``(S, heads, T, d)``.
"""
import torch.nn.functional as F
from torch import nn


def _plain_attention(attn):
    """An ``nn.MultiheadAttention`` this module can replay exactly."""
    return (isinstance(attn, nn.MultiheadAttention) and attn.batch_first
            and attn._qkv_same_embed_dim and attn.bias_k is None
            and attn.bias_v is None and not attn.add_zero_attn)


def supports_class_token_pass(visual):
    """Whether ``visual`` (an open_clip ``VisionTransformer``) pools its
    class token and has plain batch-first self-attention blocks."""
    tr = getattr(visual, 'transformer', None)
    blocks = list(getattr(tr, 'resblocks', []))
    if not blocks or getattr(visual, 'attn_pool', None) is not None:
        return False
    return (getattr(visual, 'pool_type', None) == 'tok'
            and getattr(tr, 'batch_first', False)
            and all(not hasattr(b, 'ln_1_kv')
                    and _plain_attention(getattr(b, 'attn', None))
                    and all(hasattr(b, n) for n in ('ln_1', 'ln_2', 'mlp',
                                                    'ls_1', 'ls_2'))
                    for b in blocks))


def _attention(attn, h, queries=None):
    """Multi-head self-attention of ``h`` ``(S, T, W)``; with ``queries``
    only the first ``queries`` positions ask (their rows are returned)."""
    s, t, w = h.shape
    heads = attn.num_heads
    d = w // heads
    qkv = F.linear(h, attn.in_proj_weight, attn.in_proj_bias)
    qkv = qkv.view(s, t, 3, heads, d).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]  # (S, heads, T, d)
    if queries is not None:
        q = q[:, :, :queries]
    out = F.scaled_dot_product_attention(q, k, v)
    out = out.transpose(1, 2).reshape(s, q.shape[2], w)
    return F.linear(out, attn.out_proj.weight, attn.out_proj.bias)


class ClassTokenPass(nn.Module):
    """``transformer(x)[:, :1]`` for ``x`` of shape ``(S, T, W)``, the last
    block computed for the class token only.

    Args:
        transformer (nn.Module): open_clip ``Transformer`` (batch first, see
            :func:`supports_class_token_pass`); its blocks are shared, not
            copied, and not registered (the state dict is unchanged).
    """

    def __init__(self, transformer):
        super().__init__()
        self.blocks = list(transformer.resblocks)

    def forward(self, x):
        for block in self.blocks[:-1]:
            x = x + block.ls_1(_attention(block.attn, block.ln_1(x)))
            x = x + block.ls_2(block.mlp(block.ln_2(x)))
        last = self.blocks[-1]
        cls = x[:, :1] + last.ls_1(_attention(last.attn, last.ln_1(x), 1))
        return cls + last.ls_2(last.mlp(last.ln_2(cls)))
