"""The class-conditional diffusion transformer that SiT and DiT share."""
import torch
from torch import nn

from rgl.utils.errors import ConfigError
from rgl.utils.shapes import check_input_shape
from .dit_blocks import (AdaLNZeroBlock, FinalLayer, LabelEmbedder,
                         PatchEmbed, TimestepEmbedder, sincos_2d)

#: Size table of the DiT/SiT papers: size -> depth, width, heads.
ARCH_SIZES = {
    'S': dict(depth=12, hidden_size=384, num_heads=6),
    'B': dict(depth=12, hidden_size=768, num_heads=12),
    'L': dict(depth=24, hidden_size=1024, num_heads=16),
    'XL': dict(depth=28, hidden_size=1152, num_heads=16),
}
#: Every named arch: ``'XL/2'`` -> dict(depth, hidden_size, num_heads,
#: patch_size), for sizes S/B/L/XL and patches 2/4/8.
ARCH_ZOO = {
    f'{size}/{patch}': dict(ARCH_SIZES[size], patch_size=patch)
    for size in ARCH_SIZES for patch in (2, 4, 8)
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

    The hidden state after block ``i`` (0-indexed) is the output of module
    ``blocks.<i>``: REPA's "depth 8" is the tap ``blocks.7``.
    """

    def __init__(self,
                 arch='XL/2',
                 input_size=32,
                 in_channels=4,
                 num_classes=1000,
                 learn_sigma=False,
                 qk_norm=False,
                 mlp_ratio=4.0,
                 null_class=True):
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

        d = self.hidden_size
        self.x_embedder = PatchEmbed(self.patch_size, in_channels, d)
        self.t_embedder = TimestepEmbedder(d)
        self.y_embedder = LabelEmbedder(num_classes, d, null_class)
        # A frozen parameter (not a buffer) so that the official
        # checkpoints, which store it, load with strict key checking.
        self.pos_embed = nn.Parameter(
            sincos_2d(d, self.grid_size)[None], requires_grad=False)
        self.blocks = nn.ModuleList([
            self.build_block(i, d, self.num_heads, mlp_ratio, qk_norm)
            for i in range(self.depth)
        ])
        self.final_layer = FinalLayer(d, self.patch_size, self.out_channels)
        self.init_weights()

    def build_block(self, index, hidden_size, num_heads, mlp_ratio, qk_norm):
        """Block ``index``: an adaLN-Zero block. Variants (e.g. LightningDiT
        blocks) override this; ``forward`` only needs ``block(x, c)``."""
        return AdaLNZeroBlock(hidden_size, num_heads, mlp_ratio, qk_norm)

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
        for layer in [b.adaLN_modulation[-1] for b in self.blocks] + [
                self.final_layer.adaLN_modulation[-1], self.final_layer.linear
        ]:
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        with torch.no_grad():
            self.pos_embed.copy_(sincos_2d(self.hidden_size,
                                           self.grid_size)[None])

    def unpatchify(self, x):
        """(N, T, p²·C) tokens → (N, C, H, W)."""
        n, p, g, c = x.shape[0], self.patch_size, self.grid_size, \
            self.out_channels
        x = x.reshape(n, g, g, p, p, c).permute(0, 5, 1, 3, 2, 4)
        return x.reshape(n, c, g * p, g * p)

    def forward_features(self, x, t, y):
        """Tokens after the last block (N, T, D) and the conditioning c."""
        check_input_shape(
            x, type(self).__name__, self.in_channels, self.input_size,
            hint='; set model.backbone.input_size/in_channels to match the '
            'data (latents: input_size = image side / VAE downsampling)')
        x = self.x_embedder(x) + self.pos_embed
        c = self.t_embedder(t) + self.y_embedder(y)
        for block in self.blocks:
            x = block(x, c)
        return x, c

    def forward(self, x, t, y):
        """Network output (N, C_out, H, W) for inputs x (N, C, H, W), times
        t (N,) and labels y (N,) (``num_classes`` = ∅)."""
        x, c = self.forward_features(x, t, y)
        return self.unpatchify(self.final_layer(x, c))
