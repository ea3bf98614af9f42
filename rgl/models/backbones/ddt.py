"""DDT: Decoupled Diffusion Transformer (Wang et al., 2025)."""
from torch import nn

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError
from .dit_blocks import PatchEmbed
from .lightning_dit import LightningDiT

#: encoder blocks of the released DDT-XL/2 (22 of 28; 6 decoder blocks)
DEFAULT_ENCODER_BLOCKS = {28: 22}


@MODELS.register_module()
class DDT(LightningDiT):
    """A velocity network split into a condition encoder and a velocity
    decoder.

    The encoder reads the noisy input through ``s_embedder`` and runs
    blocks ``0 … E−1`` conditioned on c = e(t) + e(y); its output z is the
    self-condition. The decoder embeds the noisy input again
    (``x_embedder``) and runs blocks ``E … depth−1`` with the per-token
    condition ``e(t) + z`` (adaLN per token), then the final layer (also
    conditioned per token). All blocks live in one list, ``blocks``, in
    that order, so REPA's ``depth=8`` tap (``blocks.7``) sits in the
    encoder, as in the paper.

    The released DDT-XL/2 (FID 1.26, 22 + 6 blocks) uses RMSNorm, SwiGLU
    without biases, RoPE, QK-norm and a qkv projection without bias; those
    are the defaults here. rgl keeps the frozen sin-cos table as well
    (DDT relies on RoPE alone), and its parameter names are rgl's, not the
    release's.

    Args:
        num_encoder_blocks (int, optional): E; default 22 for 28-block
            archs, else ¾ of the depth rounded.
        **kwargs: :class:`LightningDiT` arguments.

    Example: ``dict(type='DDT', arch='XL/2', num_encoder_blocks=22)``.
    """

    def __init__(self, *args, num_encoder_blocks=None, swiglu=True,
                 rope=True, norm='rmsnorm', qk_norm=True, qkv_bias=False,
                 mlp_bias=False, **kwargs):
        super().__init__(*args, swiglu=swiglu, rope=rope, norm=norm,
                         qk_norm=qk_norm, qkv_bias=qkv_bias,
                         mlp_bias=mlp_bias, **kwargs)
        enc = num_encoder_blocks
        if enc is None:
            enc = DEFAULT_ENCODER_BLOCKS.get(self.depth,
                                             round(0.75 * self.depth))
        if not 1 <= enc < self.depth:
            raise ConfigError(f'DDT.num_encoder_blocks must be in [1, '
                              f'{self.depth - 1}] for depth {self.depth}, '
                              f'got {enc}')
        self.num_encoder_blocks = enc
        self.s_embedder = PatchEmbed(self.patch_size, self.in_channels,
                                     self.hidden_size)
        self.init_weights()

    def init_weights(self):
        super().init_weights()
        if hasattr(self, 's_embedder'):
            w = self.s_embedder.proj.weight.data
            nn.init.xavier_uniform_(w.view(w.shape[0], -1))
            nn.init.zeros_(self.s_embedder.proj.bias)

    def forward_features(self, x, t, y, cls_token=None):
        """Decoder tokens (N, T, D) and the per-token condition e(t) + z."""
        self.check_input(x)
        t_emb = self.t_embedder(t)
        c = t_emb + self.y_embedder(y)
        z = self.embed_tokens(x, cls_token, self.s_embedder)
        for block in self.blocks[:self.num_encoder_blocks]:
            z = block(z, c)
        cond = z + t_emb.unsqueeze(1)
        h = self.embed_tokens(x, cls_token)
        for block in self.blocks[self.num_encoder_blocks:]:
            h = block(h, cond)
        return h, cond
