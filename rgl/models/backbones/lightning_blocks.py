"""Transformer block options of LightningDiT (Yao et al., 2025) and DDT
(Wang et al., 2025): SwiGLU, 2-D RoPE, RMSNorm and QK-norm, on adaLN-Zero.

Every option can be switched on alone; with all of them off,
:class:`LightningDiTBlock` computes what ``dit_blocks.AdaLNZeroBlock`` does.
The blocks also accept a per-token condition c (N, T, D), which DDT's
decoder needs (its condition is the encoder's output). Attention always runs
through ``F.scaled_dot_product_attention``.

Parameter names follow LightningDiT's release (``mlp.w12``, ``mlp.w3``,
``attn.q_norm.weight`` ...).
"""
import torch
import torch.nn.functional as F
from torch import nn

from rgl.utils.errors import ConfigError
from .dit_blocks import Attention, Mlp

NORMS = ('layernorm', 'rmsnorm')


def build_norm(kind, dim, affine=False):
    """``'layernorm'`` (DiT's, no affine in blocks) or ``'rmsnorm'``
    (x / rms(x) · w, learnable w as in LightningDiT)."""
    if kind == 'layernorm':
        return nn.LayerNorm(dim, elementwise_affine=affine, eps=1e-6)
    if kind == 'rmsnorm':
        return nn.RMSNorm(dim, eps=1e-6)
    raise ConfigError(f'norm must be one of {NORMS}, got {kind!r}')


def per_token(mod):
    """A modulation (N, D) broadcast over tokens, or a per-token one
    (N, T, D) as it is."""
    return mod.unsqueeze(1) if mod.dim() == 2 else mod


def modulate(x, shift, scale):
    return x * (1 + per_token(scale)) + per_token(shift)


class SwiGLU(nn.Module):
    """w3(SiLU(a) ⊙ b) with (a, b) = w12(x): the gated feed-forward of
    LLaMA/LightningDiT. The hidden width is ⅔ of the plain MLP's, so the
    parameter count stays that of a 4×-MLP."""

    def __init__(self, dim, hidden_dim, bias=True):
        super().__init__()
        self.w12 = nn.Linear(dim, 2 * hidden_dim, bias=bias)
        self.w3 = nn.Linear(hidden_dim, dim, bias=bias)

    def forward(self, x):
        a, b = self.w12(x).chunk(2, dim=-1)
        return self.w3(F.silu(a) * b)


class RoPE2D(nn.Module):
    """2-D rotary position embedding on a g×g token grid.

    The head dimension d splits in two halves: the first rotates by the
    token's row r, the second by its column c. Within a half, channel pair
    j turns by the angle ``pos · θ^(−j/(d/4))``, j = 0 … d/4 − 1. The tables
    are non-persistent buffers (not in checkpoints). Tokens before the last
    g² (a REG class token) are not rotated: they have no grid position.
    """

    def __init__(self, head_dim, grid_size, theta=10000.0):
        super().__init__()
        if head_dim % 4:
            raise ConfigError(f'2-D RoPE needs a head width divisible by 4, '
                              f'got {head_dim}')
        quarter = head_dim // 4
        freqs = theta**(-torch.arange(quarter, dtype=torch.float64) /
                        quarter)
        coords = torch.arange(grid_size, dtype=torch.float64)
        rows, cols = torch.meshgrid(coords, coords, indexing='ij')
        angles = torch.cat([rows.reshape(-1, 1) * freqs,
                            cols.reshape(-1, 1) * freqs], dim=1)
        self.register_buffer('cos', angles.cos().float(), persistent=False)
        self.register_buffer('sin', angles.sin().float(), persistent=False)

    def forward(self, x):
        """Rotate q or k (N, H, L, d); the last g² of the L tokens."""
        num = self.cos.shape[0]
        prefix = x.shape[-2] - num
        rot = x[..., prefix:, :] if prefix else x
        x1, x2 = rot.float().unflatten(-1, (-1, 2)).unbind(-1)
        cos, sin = self.cos, self.sin
        out = torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos],
                          dim=-1).flatten(-2).to(x.dtype)
        return torch.cat([x[..., :prefix, :], out], dim=-2) if prefix \
            else out


class LightningAttention(Attention):
    """Multi-head SDPA attention with optional QK-norm (per-head
    LayerNorm or RMSNorm on q and k) and 2-D RoPE on q and k.

    It is ``dit_blocks.Attention`` with other norms and RoPE as its
    position encoding, so ``record_attention = True`` likewise computes the
    logits S = q kᵀ/√d (after QK-norm and RoPE) explicitly and keeps them,
    with their graph, in ``attention_logits`` for HASTE's attention
    alignment; otherwise it runs fused SDPA and keeps nothing.
    """

    def __init__(self, dim, num_heads, qkv_bias=True, qk_norm=False,
                 norm='layernorm', rope_grid=None):
        if dim % num_heads:
            raise ConfigError(f'width {dim} is not divisible by {num_heads} '
                              'heads')
        super().__init__(dim, num_heads, qkv_bias=qkv_bias, qk_norm=False)
        if qk_norm:
            self.q_norm = build_norm(norm, self.head_dim, affine=True)
            self.k_norm = build_norm(norm, self.head_dim, affine=True)
        self.rope = RoPE2D(self.head_dim, rope_grid) if rope_grid else None

    def encode_positions(self, q, k):
        if self.rope is None:
            return q, k
        return self.rope(q), self.rope(k)


class LightningDiTBlock(nn.Module):
    """adaLN-Zero block with LightningDiT's options.

    ``x ← x + α₁ · Attn(norm(x)(1+γ₁) + β₁)``,
    ``x ← x + α₂ · FFN(norm(x)(1+γ₂) + β₂)``, with
    ``(β₁, γ₁, α₁, β₂, γ₂, α₂) = Linear(SiLU(c))`` for c (N, D) or per token
    (N, T, D).

    Args:
        norm (str): ``'layernorm'`` or ``'rmsnorm'`` (pre-norms, final norm
            and QK-norm).
        swiglu (bool): SwiGLU feed-forward of hidden width ⅔·mlp_ratio·D.
        rope_grid (int, optional): grid side g for 2-D RoPE (off if None).
        qk_norm (bool): normalise per-head q and k.
        qkv_bias (bool): bias of the qkv projection (DDT has none).
        mlp_bias (bool): biases of the SwiGLU Linears (DDT has none).
    """

    def __init__(self, hidden_size, num_heads, mlp_ratio=4.0, qk_norm=False,
                 norm='layernorm', swiglu=False, rope_grid=None,
                 qkv_bias=True, mlp_bias=True):
        super().__init__()
        self.norm1 = build_norm(norm, hidden_size)
        self.attn = LightningAttention(hidden_size, num_heads, qkv_bias,
                                       qk_norm, norm, rope_grid)
        self.norm2 = build_norm(norm, hidden_size)
        hidden = int(hidden_size * mlp_ratio)
        self.mlp = SwiGLU(hidden_size, int(2 / 3 * hidden), mlp_bias) \
            if swiglu else Mlp(hidden_size, hidden)
        self.adaLN_modulation = nn.Sequential(
            nn.SiLU(), nn.Linear(hidden_size, 6 * hidden_size))

    def forward(self, x, c):
        shift1, scale1, gate1, shift2, scale2, gate2 = \
            self.adaLN_modulation(c).chunk(6, dim=-1)
        x = x + per_token(gate1) * self.attn(
            modulate(self.norm1(x), shift1, scale1))
        x = x + per_token(gate2) * self.mlp(
            modulate(self.norm2(x), shift2, scale2))
        return x


class AdaLNFinalLayer(nn.Module):
    """adaLN (shift, scale) then a Linear to p²·C_out values per token, with
    a per-sample or per-token condition and an optional class-token head.

    Args:
        norm (str): ``'layernorm'`` or ``'rmsnorm'``.
        class_token_dim (int, optional): REG: the first token is the class
            token; ``linear_cls`` maps it to the D_enc-dim velocity of the
            class token, and ``forward`` returns ``(patch_out, cls_out)``.
    """

    def __init__(self, hidden_size, patch_size, out_channels,
                 norm='layernorm', class_token_dim=None):
        super().__init__()
        self.norm_final = build_norm(norm, hidden_size)
        self.linear = nn.Linear(hidden_size,
                                patch_size * patch_size * out_channels)
        self.adaLN_modulation = nn.Sequential(
            nn.SiLU(), nn.Linear(hidden_size, 2 * hidden_size))
        self.linear_cls = nn.Linear(hidden_size, class_token_dim) \
            if class_token_dim else None

    def forward(self, x, c):
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=-1)
        x = modulate(self.norm_final(x), shift, scale)
        if self.linear_cls is None:
            return self.linear(x)
        return self.linear(x[:, 1:]), self.linear_cls(x[:, 0])
