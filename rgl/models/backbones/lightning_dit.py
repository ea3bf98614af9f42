"""LightningDiT (Yao et al., 2025, "Reconstruction vs. generation"): SiT
with SwiGLU, 2-D RoPE, RMSNorm and optional QK-norm."""
from rgl.registry import MODELS
from .lightning_blocks import AdaLNFinalLayer, LightningDiTBlock, NORMS
from .sit import SiT
from rgl.utils.errors import ConfigError


@MODELS.register_module()
class LightningDiT(SiT):
    """A SiT velocity network v_θ(x_t, t, y) with LightningDiT's blocks.

    The paper's model (LightningDiT-XL/1 on the f16d32 VA-VAE, FID 1.35)
    uses SwiGLU, RoPE and RMSNorm, and keeps QK-norm off unless training
    diverges (its NaN fix). Each option is a key, so any subset can be
    tried; with all off this is a plain SiT (other parameter names in the
    feed-forward excepted).

    Args:
        swiglu (bool): SwiGLU feed-forward (hidden ⅔ · mlp_ratio · D).
        rope (bool): 2-D rotary embedding of q and k in every block, on
            top of the fixed sin-cos table (as the release keeps both).
        norm (str): ``'rmsnorm'`` or ``'layernorm'`` for the block norms,
            the final norm and QK-norm.
        qk_norm (bool): normalise per-head q and k.
        qkv_bias (bool): bias of the qkv projection.
        mlp_bias (bool): biases of the SwiGLU Linears.
        **kwargs: :class:`SiT` arguments (``arch``, ``input_size``,
            ``in_channels``, ``class_token_dim`` ...).

    Example: ``dict(type='LightningDiT', arch='XL/1', input_size=16,
    in_channels=32)``.
    """

    def __init__(self, *args, swiglu=True, rope=True, norm='rmsnorm',
                 qk_norm=False, qkv_bias=True, mlp_bias=True, **kwargs):
        if norm not in NORMS:
            raise ConfigError(f'{type(self).__name__}.norm must be one of '
                              f'{NORMS}, got {norm!r}')
        # read by build_block/build_final_layer inside super().__init__
        self.block_options = dict(norm=norm, swiglu=bool(swiglu),
                                  qkv_bias=qkv_bias, mlp_bias=mlp_bias)
        self.use_rope = bool(rope)
        super().__init__(*args, qk_norm=qk_norm, **kwargs)

    def build_block(self, index, hidden_size, num_heads, mlp_ratio, qk_norm):
        return LightningDiTBlock(
            hidden_size, num_heads, mlp_ratio, qk_norm,
            rope_grid=self.grid_size if self.use_rope else None,
            **self.block_options)

    def build_final_layer(self, hidden_size, patch_size, out_channels):
        return AdaLNFinalLayer(hidden_size, patch_size, out_channels,
                               norm=self.block_options['norm'],
                               class_token_dim=self.class_token_dim)
