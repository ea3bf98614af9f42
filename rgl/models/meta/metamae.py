"""MetaMAE: the masked auto-encoder as a meta-learner (Jang et al.,
"Modality-Agnostic Self-Supervised Learning with Meta-Learned Masked
Auto-Encoder", NeurIPS 2023, arXiv 2310.16318).

Notation of the paper: the encoder f_θ amortises the visible tokens (the
support) into the latent Z_x; the decoder g_φ predicts the masked tokens
(the query) from it.

1. Inner step (gradient-based meta-learning on the latent only):
   ``Z*_x = Z_x − α ∇_Z L_in(g_φ(Z_x))``, with L_in the reconstruction
   loss on the support set (visible tokens plus, with probability s, each
   masked token next to a visible one), α fixed.
2. Outer loss: the reconstruction of the masked tokens from Z*_x,
   differentiated through the inner step (second order) or not (first
   order).
3. Task contrastive: NT-Xent (τ = 0.5) between projections of the
   token-averaged Z_x and Z*_x, weighted by λ (``reg_weight``).

With ``inner_steps=0`` and ``reg_weight=0`` the same model is a plain MAE.
"""
import torch
from mmengine.model import BaseModel
from torch import nn

from rgl.models.backbones.dit_blocks import sincos_1d
from rgl.registry import MODELS
from rgl.utils.errors import ConfigError
from .contrastive import Projector, nt_xent
from .masking import check_ratio, random_masking, support_mask
from .tokenizers import grid_of
from .transformer import Block, math_attention, no_context

#: Encoder/decoder sizes. ``'dabs'`` is the paper's backbone for every DABS
#: modality (official ``--backbone dabs``, ``--embed-dim-dec 128``,
#: ``--num-layer-dec 4``); ``'tiny'`` is rgl's CPU size for the digits.
ARCH_SETTINGS = {
    'dabs': dict(embed_dim=256, depth=12, num_heads=8, decoder_embed_dim=128,
                 decoder_depth=4, decoder_num_heads=4, mlp_ratio=2.,
                 dropout=0.1),
    'tiny': dict(embed_dim=64, depth=4, num_heads=4, decoder_embed_dim=32,
                 decoder_depth=2, decoder_num_heads=4, mlp_ratio=2.,
                 dropout=0.1),
}


def sincos_grid(dim, grid):
    """Fixed sin-cos position embedding (T, D) of a 1-D or 2-D token grid
    (2-D: half the channels for the column, half for the row, as MAE)."""
    if len(grid) == 1:
        if dim % 2:
            raise ConfigError(f'a 1-D sin-cos position embedding needs an '
                              f'even width, got {dim}')
        return sincos_1d(dim, torch.arange(grid[0])).float()
    if dim % 4:
        raise ConfigError(f'a 2-D sin-cos position embedding needs a width '
                          f'divisible by 4, got {dim}')
    rows, cols = torch.meshgrid(torch.arange(grid[0]), torch.arange(grid[1]),
                                indexing='ij')
    return torch.cat([sincos_1d(dim // 2, cols.reshape(-1)),
                      sincos_1d(dim // 2, rows.reshape(-1))], dim=1).float()


def _build(cfg):
    return cfg if isinstance(cfg, nn.Module) else MODELS.build(cfg)


def _resolve_arch(arch):
    if isinstance(arch, str):
        if arch not in ARCH_SETTINGS:
            raise ConfigError(f'model.arch must be one of '
                              f'{sorted(ARCH_SETTINGS)} or a dict, got '
                              f'{arch!r}')
        return dict(ARCH_SETTINGS[arch])
    settings = dict(ARCH_SETTINGS['dabs'])
    unknown = set(arch) - set(settings)
    if unknown:
        raise ConfigError(f'model.arch has unknown keys {sorted(unknown)}; '
                          f'known: {sorted(settings)}')
    settings.update(arch)
    return settings


@MODELS.register_module()
class MetaMAE(BaseModel):
    """MetaMAE (and plain MAE) on any tokenised modality.

    Args:
        tokenizer (dict | nn.Module): a tokeniser of
            :mod:`rgl.models.meta.tokenizers`; its ``embed_dim`` is set to
            the encoder's width when omitted.
        arch (str | dict): ``'dabs'`` (encoder 256-d, 12 layers, 8 heads;
            decoder 128-d, 4 layers, 4 heads; mlp ratio 2; dropout 0.1) or
            ``'tiny'``, or a dict overriding keys of ``'dabs'``.
        mask_ratio (float): fraction of masked tokens, in [0, 1).
        inner_steps (int): steps of the inner loop on Z_x (the paper: 1);
            0 gives a plain MAE.
        inner_lr (float): α, the fixed inner step size (official 0.5).
        first_order (bool): treat ∇_Z L_in as a constant in the outer
            gradient (first-order MAML) instead of differentiating through
            it (second order, the paper's default).
        s_ratio (float): s, probability that a masked token next to a
            visible one joins the support set, in [0, 1).
        reg_weight (float): λ, weight of the task-contrastive loss.
        temperature (float): τ of NT-Xent (0.5).
        proj_dim (int): output width of the contrastive projector (128).
        norm_target (bool): MAE's ``norm_pix_loss`` (targets normalised per
            token). MetaMAE does not use it (off).
        data_preprocessor (dict, optional): default
            :class:`ModalityDataPreprocessor`.
    """

    def __init__(self,
                 tokenizer,
                 arch='dabs',
                 mask_ratio=0.5,
                 inner_steps=1,
                 inner_lr=0.5,
                 first_order=False,
                 s_ratio=0.1,
                 reg_weight=0.1,
                 temperature=0.5,
                 proj_dim=128,
                 norm_target=False,
                 data_preprocessor=None,
                 init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ModalityDataPreprocessor')
        super().__init__(data_preprocessor=_build(data_preprocessor),
                         init_cfg=init_cfg)
        a = _resolve_arch(arch)
        self.arch = a
        self.mask_ratio = check_ratio(mask_ratio, 'model.mask_ratio')
        self.s_ratio = check_ratio(s_ratio, 'model.s_ratio')
        if not isinstance(inner_steps, int) or inner_steps < 0:
            raise ConfigError('model.inner_steps must be an int >= 0, got '
                              f'{inner_steps!r}')
        if inner_lr < 0 or reg_weight < 0 or temperature <= 0:
            raise ConfigError(
                'model.inner_lr and model.reg_weight must be >= 0 and '
                f'model.temperature > 0, got {inner_lr}, {reg_weight}, '
                f'{temperature}')
        if reg_weight > 0 and inner_steps == 0:
            raise ConfigError(
                'model.reg_weight > 0 needs the adapted latent: set '
                'model.inner_steps >= 1, or reg_weight=0 for a plain MAE')
        self.inner_steps, self.inner_lr = inner_steps, float(inner_lr)
        self.first_order = bool(first_order)
        self.reg_weight, self.temperature = float(reg_weight), temperature
        self.norm_target = norm_target

        dim, dec_dim = a['embed_dim'], a['decoder_embed_dim']
        if isinstance(tokenizer, dict):
            tokenizer = dict(tokenizer)
            tokenizer.setdefault('embed_dim', dim)
        self.tokenizer = _build(tokenizer)
        if self.tokenizer.embed_dim != dim:
            raise ConfigError(
                f'model.tokenizer.embed_dim={self.tokenizer.embed_dim} '
                f'differs from the encoder width {dim} (model.arch)')
        self.grid = grid_of(self.tokenizer)
        if norm_target and self.tokenizer.discrete:
            raise ConfigError('model.norm_target applies to continuous '
                              'targets, not to token ids')

        # encoder f_θ
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.register_buffer('pos_embed', sincos_grid(dim, self.grid)[None],
                             persistent=False)
        self.pos_drop = nn.Dropout(a['dropout'])
        self.blocks = nn.ModuleList([
            Block(dim, a['num_heads'], a['mlp_ratio'], drop=a['dropout'])
            for _ in range(a['depth'])
        ])
        self.norm = nn.LayerNorm(dim)
        # decoder g_φ (no dropout, as the official decoder)
        self.decoder_embed = nn.Linear(dim, dec_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dec_dim))
        self.register_buffer('decoder_pos_embed',
                             sincos_grid(dec_dim, self.grid)[None],
                             persistent=False)
        self.decoder_blocks = nn.ModuleList([
            Block(dec_dim, a['decoder_num_heads'], a['mlp_ratio'])
            for _ in range(a['decoder_depth'])
        ])
        self.decoder_norm = nn.LayerNorm(dec_dim)
        self.decoder_head = nn.Linear(dec_dim, self.tokenizer.pred_dim)
        self.projector = Projector(dim, proj_dim) if reg_weight > 0 else None
        self._init_weights()

    @property
    def embed_dim(self):
        return self.arch['embed_dim']

    def _init_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        w = self.tokenizer.proj.weight
        nn.init.xavier_uniform_(w.data.view(w.shape[0], -1))
        nn.init.normal_(self.cls_token, std=.02)
        nn.init.normal_(self.mask_token, std=.02)

    # -- f_θ ----------------------------------------------------------------
    def encode(self, x, ids_keep=None):
        """Z_x: the encoder latent ``(N, 1 + K, D)`` (CLS first) of the
        tokens ``ids_keep`` (N, K), or of all tokens when None."""
        tokens = self.tokenizer(x) + self.pos_embed
        if ids_keep is not None:
            tokens = tokens.gather(
                1, ids_keep[..., None].expand(-1, -1, tokens.shape[-1]))
        cls = (self.cls_token).expand(tokens.shape[0], -1, -1)
        h = self.pos_drop(torch.cat([cls, tokens], dim=1))
        for block in self.blocks:
            h = block(h)
        return self.norm(h)

    def extract_feat(self, x, pool=True):
        """Features of the whole input (no masking): the global average of
        the token features ``(N, D)`` (the paper's linear evaluation), or the
        tokens ``(N, T, D)`` with ``pool=False``."""
        tokens = self.encode(x)[:, 1:]
        return tokens.mean(dim=1) if pool else tokens

    # -- g_φ ----------------------------------------------------------------
    def decode(self, latent, ids_restore):
        """Predictions ``(N, T, ·)`` of every token, in grid order, from the
        latent of the visible tokens."""
        h = self.decoder_embed(latent)
        n, k1, d = h.shape
        t = ids_restore.shape[1]
        seq = torch.cat([h[:, 1:], self.mask_token.expand(n, t + 1 - k1, d)],
                        dim=1)
        seq = seq.gather(1, ids_restore[..., None].expand(-1, -1, d))
        h = torch.cat([h[:, :1], seq + self.decoder_pos_embed], dim=1)
        for block in self.decoder_blocks:
            h = block(h)
        out = self.decoder_head(self.decoder_norm(h)[:, 1:])
        return self.tokenizer.to_prediction(out)

    def target(self, x):
        target = self.tokenizer.target(x)
        if self.norm_target:
            mean = target.mean(dim=-1, keepdim=True)
            var = target.var(dim=-1, keepdim=True)
            target = (target - mean) / (var + 1e-6).sqrt()
        return target

    def recon_loss(self, pred, target, weights):
        """Mean per-token loss over the tokens with weight 1 (``mask`` for
        the query set, the support mask for the inner step)."""
        loss = self.tokenizer.token_loss(pred, target)
        return (loss * weights).sum() / weights.sum().clamp(min=1)

    # -- meta-learning ------------------------------------------------------
    def adapt(self, latent, ids_restore, target, support):
        """The inner loop: ``Z ← Z − α ∇_Z (B · L_in(Z))``.

        L_in averages over all support tokens of the batch, so the factor B
        (batch size, as the official code) makes α a per-sample step size.
        With ``first_order=False`` the step stays in the autograd graph
        (``create_graph``) and the outer gradient includes the second-order
        term ``−α (∂L/∂Z*)ᵀ ∇²_Z L_in ∂Z/∂θ``.
        """
        create_graph = not self.first_order
        losses = []
        for _ in range(self.inner_steps):
            # fused SDPA kernels have no double backward
            with math_attention() if create_graph else no_context():
                pred = self.decode(latent, ids_restore)
            loss = self.recon_loss(pred, target, support)
            grad, = torch.autograd.grad(loss * latent.shape[0], latent,
                                        create_graph=create_graph)
            latent = latent - self.inner_lr * grad
            losses.append(loss.detach())
        return latent, losses

    def loss_terms(self, x, noise=None, support_rand=None):
        """All loss terms of one batch.

        Args:
            x (Tensor): inputs of the tokeniser.
            noise (Tensor, optional): uniform ``(N, T)`` draws that decide
                the masked tokens (largest are masked).
            support_rand (Tensor, optional): uniform ``(N, T)`` draws of the
                support set (``< s_ratio`` joins).

        Returns:
            dict: ``loss_rec`` (outer reconstruction on the masked tokens),
            ``loss_con`` (λ · NT-Xent, when λ > 0) and ``inner_rec`` (L_in
            before the step, logged only).
        """
        n, t = x.shape[0], self.tokenizer.num_tokens
        ids_keep, ids_restore, mask = random_masking(
            n, t, self.mask_ratio, device=x.device, noise=noise)
        target = self.target(x)
        latent = self.encode(x, ids_keep)
        out = {}
        adapted = latent
        if self.inner_steps > 0:
            support = support_mask(mask, self.grid, self.s_ratio,
                                   rand=support_rand)
            with torch.enable_grad():
                if not latent.requires_grad:  # e.g. a loss under no_grad
                    latent = latent.detach().requires_grad_()
                adapted, inner = self.adapt(latent, ids_restore, target,
                                            support)
            out['inner_rec'] = inner[0]
        out['loss_rec'] = self.recon_loss(self.decode(adapted, ids_restore),
                                          target, mask)
        if self.projector is not None:
            z1 = self.projector(latent[:, 1:].mean(dim=1))
            z2 = self.projector(adapted[:, 1:].mean(dim=1))
            out['loss_con'] = self.reg_weight * nt_xent(z1, z2,
                                                        self.temperature)
        return out

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            return self.loss_terms(inputs)
        if mode == 'tensor':
            return self.extract_feat(inputs)
        if mode == 'predict':
            feats = self.extract_feat(inputs)
            for sample, feat in zip(data_samples, feats):
                sample.set_field(feat, 'feat')
            return data_samples
        raise ValueError(f'mode must be tensor, loss or predict, got {mode}')
