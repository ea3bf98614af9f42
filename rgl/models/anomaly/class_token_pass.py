"""The transformer pass of a window sequence when only its class token is
read.

A WinCLIP window embedding is the projected class token of a short
sequence ``[cls; window tokens]`` after the last block. Every block but
the last must run on all tokens (they are the keys and values of the next
block), but in the last block only the class token's row is read: its
query, attention output, residual and MLP are all the output needs, while
the window tokens contribute only their keys and values. For 2×2 and 3×3
windows (5 and 10 tokens) that skips 4/5 and 9/10 of the last block's
output projection and MLP; the result is the same function (float
rounding aside: the attention call takes the cross-attention path).
"""
from torch import nn


def supports_class_token_pass(visual):
    """Whether ``visual`` (an open_clip ``VisionTransformer``) pools its
    class token and has plain self-attention blocks, batch first."""
    tr = getattr(visual, 'transformer', None)
    blocks = list(getattr(tr, 'resblocks', []))
    if not blocks or getattr(visual, 'attn_pool', None) is not None:
        return False
    last = blocks[-1]
    return (getattr(visual, 'pool_type', None) == 'tok'
            and getattr(tr, 'batch_first', False)
            and not hasattr(last, 'ln_1_kv')
            and all(hasattr(last, n) for n in ('ln_1', 'ln_2', 'mlp',
                                              'ls_1', 'ls_2', 'attention')))


class ClassTokenPass(nn.Module):
    """``transformer(x)[:, :1]`` for ``x`` of shape ``(S, T, W)``,
    computing the last block for the class token only.

    Args:
        transformer (nn.Module): open_clip ``Transformer`` (batch first);
            its blocks are shared, not copied.
    """

    def __init__(self, transformer):
        super().__init__()
        self.blocks = list(transformer.resblocks)

    def forward(self, x):
        for block in self.blocks[:-1]:
            x = block(x)
        last = self.blocks[-1]
        h = last.ln_1(x)  # keys and values: every token
        cls = x[:, :1]
        cls = cls + last.ls_1(last.attention(q_x=h[:, :1], k_x=h, v_x=h))
        return cls + last.ls_2(last.mlp(last.ln_2(cls)))
