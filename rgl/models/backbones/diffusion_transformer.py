"""The class-conditional diffusion transformer that SiT and DiT share."""
import torch
from torch import nn

from rgl.utils.errors import ConfigError
from rgl.utils.shapes import check_input_shape
from .dit_blocks import (AdaLNZeroBlock, FinalLayer, LabelEmbedder,
                         PatchEmbed, TimestepEmbedder, sincos_2d)
from .lightning_blocks import AdaLNFinalLayer

#: Size table of the DiT/SiT papers: size -> depth, width, heads.
ARCH_SIZES = {
    'S': dict(depth=12, hidden_size=384, num_heads=6),
    'B': dict(depth=12, hidden_size=768, num_heads=12),
    'L': dict(depth=24, hidden_size=1024, num_heads=16),
    'XL': dict(depth=28, hidden_size=1152, num_heads=16),
}
#: Every named arch: ``'XL/2'`` -> dict(depth, hidden_size, num_heads,
#: patch_size), for sizes S/B/L/XL and patches 1/2/4/8 (patch 1 is
#: LightningDiT's XL/1 on the f16 VA-VAE latents).
ARCH_ZOO = {
    f'{size}/{patch}': dict(ARCH_SIZES[size], patch_size=patch)
    for size in ARCH_SIZES for patch in (1, 2, 4, 8)
}


def resolve_arch(arch, owner):
    """``'XL/2'`` or a dict with depth, hidden_size, num_heads, patch_size
    (e.g. a tiny test arch) -> that dict."""
    keys = ('depth', 'hidden_size', 'num_heads', 'patch_size')
    if isinstance(arch, str):
        name = arch.split('-')[-1]  # accept 'SiT-XL/2' too
        if name not in ARCH_ZOO:
            raise ConfigError(f'{owner}.arch {arch!r} is unknown; choose '
                              f'one of {sorted(ARCH_ZOO)} or give a dict '
                              f'with {keys}')
        return dict(ARCH_ZOO[name])
    if isinstance(arch, dict):
        missing = [k for k in keys if k not in arch]
        if missing:
            raise ConfigError(f'{owner}.arch is missing {missing}')
        return {k: arch[k] for k in keys}
    raise ConfigError(f'{owner}.arch must be a name or a dict, got '
                      f'{type(arch).__name__}')


class DiffusionTransformer(nn.Module):
    """Patchify → (+ fixed 2-D sin-cos position) → N adaLN-Zero blocks
    conditioned on ``c = e(t) + e(y)`` → final adaLN layer → unpatchify.

    Args:
        arch (str | dict): ``'S' | 'B' | 'L' | 'XL'`` with patch ``/2 /4
            /8`` (e.g. ``'XL/2'``), or a dict with ``depth, hidden_size,
            num_heads, patch_size``.
        input_size (int): side of the (latent) input, 32 for 256² images
            through the SD-VAE.
        in_channels (int): input channels C (4 for SD-VAE latents).
        num_classes (int): classes; label ``num_classes`` is the null class
            ∅ of classifier-free guidance.
        learn_sigma (bool): predict 2C channels (the second C parameterise
            the variance, DiT's learned Σ).
        qk_norm (bool): LayerNorm on per-head queries and keys.
        mlp_ratio (float): MLP width / hidden width.
        null_class (bool): keep the extra ∅ row in the label table.
        class_token_dim (int, optional): REG (Wu et al., 2025): the width
            D_enc of an encoder class token that joins the input sequence
            in front of the patch tokens. It enters through
            ``cls_projectors2`` (Linear D_enc → D) and ``wg_norm``
            (LayerNorm), takes the zero position row, and leaves through
            ``final_layer.linear_cls`` (D → D_enc) as its own velocity;
            ``forward`` then takes ``cls_token`` and returns
            ``(out, cls_out)``. The names are REG's, so its checkpoints
            keep their keys. ``None`` (default): plain SiT/DiT.

    The hidden state after block ``i`` (0-indexed) is the output of module
    ``blocks.<i>``: REPA's "depth 8" is the tap ``blocks.7``. With a class
    token the tap holds ``num_prefix_tokens`` = 1 extra token in front, which
    the REPA aligner skips.
    """

    def __init__(self,
                 arch='XL/2',
                 input_size=32,
                 in_channels=4,
                 num_classes=1000,
                 learn_sigma=False,
                 qk_norm=False,
                 mlp_ratio=4.0,
                 null_class=True,
                 class_token_dim=None):
        super().__init__()
        name = type(self).__name__
        cfg = resolve_arch(arch, name)
        self.arch = cfg
        self.depth = cfg['depth']
        self.hidden_size = self.embed_dim = cfg['hidden_size']
        self.num_heads = cfg['num_heads']
        self.patch_size = cfg['patch_size']
        if input_size % self.patch_size:
            raise ConfigError(f'{name}.input_size {input_size} is not a '
                              f'multiple of the patch size {self.patch_size}')
        self.input_size = input_size
        self.grid_size = input_size // self.patch_size
        self.num_patches = self.grid_size**2
        self.in_channels = in_channels
        self.learn_sigma = learn_sigma
        self.out_channels = in_channels * 2 if learn_sigma else in_channels
        self.num_classes = num_classes
        if class_token_dim is not None and int(class_token_dim) < 1:
            raise ConfigError(f'{name}.class_token_dim must be a positive '
                              f'width or None, got {class_token_dim!r}')
        self.class_token_dim = class_token_dim
        self.num_prefix_tokens = 1 if class_token_dim else 0

        d = self.hidden_size
        self.x_embedder = PatchEmbed(self.patch_size, in_channels, d)
        self.t_embedder = TimestepEmbedder(d)
        self.y_embedder = LabelEmbedder(num_classes, d, null_class)
        # A frozen parameter (not a buffer) so that the official
        # checkpoints, which store it, load with strict key checking.
        self.pos_embed = nn.Parameter(self.position_table(),
                                      requires_grad=False)
        if class_token_dim:
            self.cls_projectors2 = nn.Linear(class_token_dim, d)
            self.wg_norm = nn.LayerNorm(d, eps=1e-6)
        self.blocks = nn.ModuleList([
            self.build_block(i, d, self.num_heads, mlp_ratio, qk_norm)
            for i in range(self.depth)
        ])
        self.final_layer = self.build_final_layer(d, self.patch_size,
                                                  self.out_channels)
        self.init_weights()

    def build_block(self, index, hidden_size, num_heads, mlp_ratio, qk_norm):
        """Block ``index``: an adaLN-Zero block. Variants (e.g. LightningDiT
        blocks) override this; ``forward`` only needs ``block(x, c)``."""
        return AdaLNZeroBlock(hidden_size, num_heads, mlp_ratio, qk_norm)

    def build_final_layer(self, hidden_size, patch_size, out_channels):
        """The output layer; with a class token, one that also returns the
        class token's velocity."""
        if self.class_token_dim:
            return AdaLNFinalLayer(hidden_size, patch_size, out_channels,
                                   class_token_dim=self.class_token_dim)
        return FinalLayer(hidden_size, patch_size, out_channels)

    def position_table(self):
        """(1, prefix + g², D): zero rows for the prefix (class) tokens,
        then the 2-D sin-cos table (REG's layout)."""
        table = sincos_2d(self.hidden_size, self.grid_size)
        if self.num_prefix_tokens:
            table = torch.cat([
                table.new_zeros(self.num_prefix_tokens, table.shape[1]),
                table
            ])
        return table[None]

    def init_weights(self):
        """DiT's initialisation: xavier Linears, N(0, 0.02) embeddings, and
        zero adaLN modulations and output layer (adaLN-Zero), so the network
        outputs exactly zero at initialisation."""

        def basic(module):
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

        self.apply(basic)
        w = self.x_embedder.proj.weight.data
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        nn.init.zeros_(self.x_embedder.proj.bias)
        nn.init.normal_(self.y_embedder.embedding_table.weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)
        zero = [b.adaLN_modulation[-1] for b in self.blocks] + [
            self.final_layer.adaLN_modulation[-1], self.final_layer.linear
        ]
        if getattr(self.final_layer, 'linear_cls', None) is not None:
            zero.append(self.final_layer.linear_cls)
        for layer in zero:
            nn.init.zeros_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        with torch.no_grad():
            self.pos_embed.copy_(self.position_table())

    def unpatchify(self, x):
        """(N, T, p²·C) tokens → (N, C, H, W)."""
        n, p, g, c = x.shape[0], self.patch_size, self.grid_size, \
            self.out_channels
        x = x.reshape(n, g, g, p, p, c).permute(0, 5, 1, 3, 2, 4)
        return x.reshape(n, c, g * p, g * p)

    def check_input(self, x):
        check_input_shape(
            x, type(self).__name__, self.in_channels, self.input_size,
            hint='; set model.backbone.input_size/in_channels to match the '
            'data (latents: input_size = image side / VAE downsampling)')

    def embed_tokens(self, x, cls_token=None, embedder=None):
        """Patch tokens of x by ``embedder`` (default ``x_embedder``), with
        the class token in front when the model has one, plus positions."""
        tokens = (embedder or self.x_embedder)(x)
        if self.class_token_dim:
            if cls_token is None:
                raise ConfigError(
                    f'{type(self).__name__} has class_token_dim='
                    f'{self.class_token_dim} (REG): call it with '
                    '`cls_token` (N, class_token_dim)')
            cls = self.wg_norm(self.cls_projectors2(cls_token.to(
                tokens.dtype)))
            tokens = torch.cat([cls.unsqueeze(1), tokens], dim=1)
        return tokens + self.pos_embed

    def forward_features(self, x, t, y, cls_token=None):
        """Tokens after the last block (N, T, D) and the conditioning c."""
        self.check_input(x)
        x = self.embed_tokens(x, cls_token)
        c = self.t_embedder(t) + self.y_embedder(y)
        for block in self.blocks:
            x = block(x, c)
        return x, c

    def forward(self, x, t, y, cls_token=None):
        """Network output (N, C_out, H, W) for inputs x (N, C, H, W), times
        t (N,) and labels y (N,) (``num_classes`` = ∅). With a class token
        (REG): ``(out, cls_out)`` for ``cls_token`` (N, D_enc)."""
        x, c = self.forward_features(x, t, y, cls_token)
        out = self.final_layer(x, c)
        if self.class_token_dim:
            return self.unpatchify(out[0]), out[1]
        return self.unpatchify(out)
