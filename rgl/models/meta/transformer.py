"""Pre-norm transformer blocks with PyTorch's fused attention (SDPA).

The layout follows timm's ``Block`` (``attn.qkv``, ``attn.proj``,
``mlp.fc1``, ``mlp.fc2``, ``norm1``, ``norm2``), as MetaMAE's official
encoder and decoder.
"""
import contextlib

import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel


def math_attention():
    """Run SDPA with the math backend, whose backward is differentiable:
    the fused CPU/flash kernels have no double backward, which the
    second-order inner step of MetaMAE needs."""
    return sdpa_kernel([SDPBackend.MATH])


def no_context():
    return contextlib.nullcontext()


class Attention(nn.Module):

    def __init__(self, dim, num_heads, proj_drop=0.):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'width {dim} is not divisible by {num_heads} '
                             'heads')
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x):
        n, t, d = x.shape
        qkv = self.qkv(x).reshape(n, t, 3, self.num_heads, d // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        x = F.scaled_dot_product_attention(q, k, v)
        x = x.transpose(1, 2).reshape(n, t, d)
        return self.proj_drop(self.proj(x))


class Mlp(nn.Module):

    def __init__(self, dim, hidden, drop=0.):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class Block(nn.Module):
    """``x + Attn(LN(x))`` then ``x + MLP(LN(x))``; ``drop`` on the
    attention projection and the MLP (attention weights are not dropped)."""

    def __init__(self, dim, num_heads, mlp_ratio=2., drop=0.):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads, proj_drop=drop)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))
