"""Transformer parts shared by SiT and DiT (Peebles & Xie, 2023; Ma et al.,
2024).

Module names follow the official DiT/SiT/REPA layouts (``x_embedder.proj``,
``t_embedder.mlp``, ``y_embedder.embedding_table``, ``blocks.<i>.attn.qkv``,
``final_layer.linear`` ...), so official checkpoints load with strict key
checking and a feature tap ``blocks.<i>`` reads the hidden state after block
``i`` (0-indexed).
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


def modulate(x, shift, scale):
    """adaLN: ``x · (1 + scale) + shift`` with per-sample (N, D) modulation
    broadcast over the T tokens of ``x`` (N, T, D)."""
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


def sincos_1d(embed_dim, pos):
    """1-D sin-cos embedding (M, D) of positions ``pos`` (M,): the first half
    of the channels is ``sin(pos·ω_k)``, the second ``cos(pos·ω_k)`` with
    ``ω_k = 10000^(-2k/D)``. Computed in float64, as the official numpy."""
    omega = torch.arange(embed_dim // 2, dtype=torch.float64) / (
        embed_dim / 2.0)
    omega = 1.0 / 10000**omega
    out = pos.to(torch.float64).reshape(-1, 1) * omega[None]
    return torch.cat([out.sin(), out.cos()], dim=1)


def sincos_2d(embed_dim, grid_size):
    """Fixed 2-D sin-cos position embedding (g², D) of a g×g token grid, row
    major. Half the channels encode the column, half the row (the MAE/DiT
    convention, where the meshgrid puts the width axis first)."""
    if embed_dim % 4:
        raise ValueError(f'sin-cos position embedding needs a width '
                         f'divisible by 4, got {embed_dim}')
    coords = torch.arange(grid_size, dtype=torch.float64)
    rows, cols = torch.meshgrid(coords, coords, indexing='ij')
    return torch.cat([
        sincos_1d(embed_dim // 2, cols.reshape(-1)),
        sincos_1d(embed_dim // 2, rows.reshape(-1))
    ], dim=1).float()


class PatchEmbed(nn.Module):
    """Non-overlapping p×p patches → tokens (N, T, D) by a strided conv."""

    def __init__(self, patch_size, in_channels, embed_dim):
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_channels, embed_dim, patch_size,
                              stride=patch_size, bias=True)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class TimestepEmbedder(nn.Module):
    """Scalar time t (N,) → (N, D): a 256-d sinusoid ``[cos(tω), sin(tω)]``
    with ``ω_k = 10000^(-k/128)``, then Linear-SiLU-Linear.

    SiT/REPA feed t ∈ [0, 1] and DiT the step index t ∈ {0..999} directly;
    the frequencies are the same in both."""

    def __init__(self, hidden_size, frequency_embedding_size=256):
        super().__init__()
        self.frequency_embedding_size = frequency_embedding_size
        self.mlp = nn.Sequential(
            nn.Linear(frequency_embedding_size, hidden_size), nn.SiLU(),
            nn.Linear(hidden_size, hidden_size))

    @staticmethod
    def sinusoid(t, dim, max_period=10000):
        half = dim // 2
        freqs = torch.exp(-math.log(max_period) * torch.arange(
            half, dtype=torch.float32, device=t.device) / half)
        args = t[:, None].float() * freqs[None]
        emb = torch.cat([args.cos(), args.sin()], dim=-1)
        if dim % 2:
            emb = F.pad(emb, (0, 1))
        return emb

    def forward(self, t):
        freq = self.sinusoid(t, self.frequency_embedding_size)
        return self.mlp(freq.to(self.mlp[0].weight.dtype))


class LabelEmbedder(nn.Module):
    """Class label y → (N, D). Row ``num_classes`` is the null class ∅ used
    for classifier-free guidance; label dropout is done by the training
    algorithm, which substitutes ∅, so this table is a plain lookup."""

    def __init__(self, num_classes, hidden_size, null_class=True):
        super().__init__()
        self.num_classes = num_classes
        self.embedding_table = nn.Embedding(num_classes + int(null_class),
                                            hidden_size)

    def forward(self, y):
        return self.embedding_table(y)


class Attention(nn.Module):
    """Multi-head self-attention with fused SDPA and optional qk-norm
    (LayerNorm per head on q and k, as timm's ``qk_norm=True``).

    Attention maps are materialised only on request: with
    ``record_attention = True`` (set per module, e.g. by HASTE's aligner for
    the blocks it aligns, only in training iterations that use them) the
    block computes the logits ``S = q kᵀ / √d`` (N, H, T, T) explicitly,
    keeps them in ``attention_logits`` (with their graph, so a loss on
    ``softmax(S)`` trains q and k) and attends with ``softmax(S) v``.
    Otherwise it runs fused SDPA and stores nothing.
    """

    def __init__(self, dim, num_heads, qkv_bias=True, qk_norm=False):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'width {dim} is not divisible by {num_heads} '
                             'heads')
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim**-0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.q_norm = nn.LayerNorm(self.head_dim) if qk_norm else \
            nn.Identity()
        self.k_norm = nn.LayerNorm(self.head_dim) if qk_norm else \
            nn.Identity()
        self.proj = nn.Linear(dim, dim)
        self.record_attention = False
        self.attention_logits = None

    def forward(self, x):
        n, t, d = x.shape
        qkv = self.qkv(x).reshape(n, t, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        q, k = self.encode_positions(self.q_norm(q), self.k_norm(k))
        if self.record_attention:
            logits = (q * self.scale) @ k.transpose(-2, -1)
            self.attention_logits = logits
            x = logits.softmax(dim=-1).to(v.dtype) @ v
        else:
            x = F.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(n, t, d))

    def encode_positions(self, q, k):
        """Hook for relative position encodings of q and k (N, H, T, d_h),
        e.g. LightningDiT's RoPE; DiT adds absolute positions to the input
        instead, so here it is the identity."""
        return q, k

    def pop_attention(self):
        """The logits S (N, H, T, T) of the last recorded forward pass, then
        forgotten (so that no graph outlives its iteration)."""
        if self.attention_logits is None:
            raise RuntimeError('Attention recorded no map: set '
                               '`record_attention = True` before the forward '
                               'pass')
        out, self.attention_logits = self.attention_logits, None
        return out


class Mlp(nn.Module):
    """fc1 → GELU(tanh) → fc2, the DiT feed-forward."""

    def __init__(self, dim, hidden_dim):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU(approximate='tanh')
        self.fc2 = nn.Linear(hidden_dim, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class AdaLNZeroBlock(nn.Module):
    """A transformer block conditioned on c (N, D) by adaLN-Zero.

    ``(β₁, γ₁, α₁, β₂, γ₂, α₂) = Linear(SiLU(c))``;
    ``x ← x + α₁ · Attn(LN(x)(1+γ₁) + β₁)``;
    ``x ← x + α₂ · MLP(LN(x)(1+γ₂) + β₂)``. The modulation Linear starts at
    zero, so every block starts as the identity.
    """

    def __init__(self, hidden_size, num_heads, mlp_ratio=4.0, qk_norm=False):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False,
                                  eps=1e-6)
        self.attn = Attention(hidden_size, num_heads, qkv_bias=True,
                              qk_norm=qk_norm)
        self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False,
                                  eps=1e-6)
        self.mlp = Mlp(hidden_size, int(hidden_size * mlp_ratio))
        self.adaLN_modulation = nn.Sequential(
            nn.SiLU(), nn.Linear(hidden_size, 6 * hidden_size))

    def forward(self, x, c):
        shift1, scale1, gate1, shift2, scale2, gate2 = \
            self.adaLN_modulation(c).chunk(6, dim=-1)
        x = x + gate1.unsqueeze(1) * self.attn(
            modulate(self.norm1(x), shift1, scale1))
        x = x + gate2.unsqueeze(1) * self.mlp(
            modulate(self.norm2(x), shift2, scale2))
        return x


class FinalLayer(nn.Module):
    """adaLN (shift, scale) then a Linear to p²·C_out values per token."""

    def __init__(self, hidden_size, patch_size, out_channels):
        super().__init__()
        self.norm_final = nn.LayerNorm(hidden_size, elementwise_affine=False,
                                       eps=1e-6)
        self.linear = nn.Linear(hidden_size,
                                patch_size * patch_size * out_channels)
        self.adaLN_modulation = nn.Sequential(
            nn.SiLU(), nn.Linear(hidden_size, 2 * hidden_size))

    def forward(self, x, c):
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=-1)
        return self.linear(modulate(self.norm_final(x), shift, scale))
