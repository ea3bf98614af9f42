"""CLEL: an energy-based model guided by contrastive latent variables.

Per iteration (Lee et al., ICLR 2023, Alg. 1):

1. draw x⁻ from the replay buffer (restart with probability p), augment it
   and run SGLD on E_θ(x) = ½‖f_θ(x)‖² (60 steps, a = 100, s = 0.001);
2. EBM loss ``mean(E(x⁺) − E(x⁻)) + α·mean(E(x⁺)² + E(x⁻)²)
   − β·mean(cos(z_θ(x⁺), sg(h_φ(t(x⁺)))))`` with α = 1, β = 0.01;
3. the guide's SimCLR loss on two strong views of x⁺, with the detached
   z_θ(x⁻) as extra negatives (τ = 0.2); one backward for both.

Without a guide (``guide=None``) the model is the plain short-run EBM
baseline of the paper's ablation. A frozen rgl encoder (MAE, DINOv2, CLIP:
images in [0, 1] -> tokens (N, T, D)) can also serve as the guide; its
mean token is the latent.
"""
import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapperDict
from torch.nn.utils import parametrize

from rgl.registry import MODELS, SAMPLERS
from rgl.utils.errors import ConfigError
from .buffer import ReplayBuffer
from .joint import ebm_loss_terms, joint_energy, nt_xent


def _build(cfg, registry=MODELS):
    return registry.build(cfg) if isinstance(cfg, dict) else cfg


@MODELS.register_module()
class CLEL(BaseModel):
    """Contrastive latent-guided energy learning.

    Args:
        backbone (dict): energy backbone, e.g. ``SNPreActResNet``.
        head (dict): energy head (``CLELEnergyHead``); ``in_channels`` is
            filled in from the backbone.
        guide (dict, optional): the latent guide h_φ: a ``SimCLREncoder``
            (trained jointly) or a frozen rgl encoder. None: no guide (the
            baseline EBM).
        sampler (dict): the SGLD sampler (``SAMPLERS``).
        buffer (dict): ``size`` and ``reinit_prob`` of the replay buffer.
        img_shape (tuple): (C, H, W) of the images.
        alpha (float): α, weight of the energy magnitude regulariser.
        beta (float): β, weight of the latent term −β·cos(z, y).
        temperature (float): τ of the guide's NT-Xent loss.
        use_neg (bool): add the detached z(x⁻) as extra SimCLR negatives.
        buffer_augment (dict, optional): augmentation of buffer samples
            before SGLD (paper: strong).
        ebm_augment (dict, optional): augmentation of x⁺ for the guide's
            target y (paper: strong).
        guide_augment (dict, optional): the two SimCLR views.
        data_preprocessor (dict, optional): batches to [0, 1] images.
    """

    def __init__(self, backbone, head, guide=None,
                 sampler=dict(type='SGLDSampler'),
                 buffer=dict(size=10000, reinit_prob=0.001),
                 img_shape=(3, 32, 32), alpha=1.0, beta=0.01,
                 temperature=0.2, use_neg=True,
                 buffer_augment=dict(type='StrongAugment'),
                 ebm_augment=dict(type='StrongAugment'),
                 guide_augment=dict(type='StrongAugment'),
                 data_preprocessor=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ImageDataPreprocessor')
        super().__init__(data_preprocessor=_build(data_preprocessor))
        self.backbone = _build(backbone)
        head = dict(head)
        head.setdefault('in_channels', self.backbone.out_channels)
        self.head = _build(head)
        self.guide = None if guide is None else _build(guide)
        self.sampler_cfg = dict(sampler)
        self.sampler = _build(sampler, SAMPLERS)
        self.img_shape = tuple(img_shape)
        buffer = dict(buffer)
        self.buffer = ReplayBuffer(buffer.pop('size', 10000), self.img_shape,
                                   **buffer)
        self.alpha, self.beta = float(alpha), float(beta)
        self.temperature, self.use_neg = float(temperature), bool(use_neg)
        self.buffer_augment = _build(buffer_augment) if buffer_augment \
            else None
        self.ebm_augment = _build(ebm_augment) if ebm_augment else None
        self.guide_augment = _build(guide_augment) if guide_augment \
            else None
        if self.guide is not None:
            width = guide_width(self.guide)
            if width is not None and width != self.head.out_dim:
                raise ConfigError(
                    f'guide: the latent guide outputs {width}-d latents but '
                    f'head.projection_dims ends in {self.head.out_dim}; make '
                    'them equal')
            if not self.guide_trainable:
                self.guide.requires_grad_(False)

    @property
    def guide_trainable(self):
        return self.guide is not None and getattr(self.guide, 'trainable',
                                                  False)

    # --- energies -----------------------------------------------------------
    def features(self, x):
        """(f, z) of images in [0, 1]."""
        return self.head(self.backbone(x))

    def energy(self, x):
        """E_θ(x) = ½‖f(x)‖² per image."""
        return self.head.energy(self.features(x)[0])

    def latent(self, x):
        """The guide's latent y = h_φ(x) (N, D); the mean token of an
        encoder that returns tokens."""
        y = self.guide(x)
        if isinstance(y, (tuple, list)):
            y = y[0]
        return y.mean(dim=1) if y.dim() == 3 else y

    @torch.no_grad()
    def ood_score(self, x):
        """E(x) − β·cos(z(x), h(t(x))): higher = more out-of-distribution
        (the energy alone without a guide)."""
        f, z = self.features(x)
        if self.guide is None:
            return self.head.energy(f)
        t = self.ebm_augment(x) if self.ebm_augment is not None else x
        return joint_energy(f, z, self.latent(t), self.beta)

    # --- training -----------------------------------------------------------
    def sample_negatives(self, n):
        idx, x = self.buffer.draw(n)
        x = x.to(self.buffer.images.device)
        if self.buffer_augment is not None:
            x = self.buffer_augment(x)
        # θ is fixed along the chain: compute the spectrally normalised
        # weights once (one power iteration) instead of at every step
        with parametrize.cached():
            with torch.no_grad():
                self.energy(x[:1])
            x = self.sampler(self.energy, x)
        self.buffer.update(idx, x)
        return x

    def loss(self, x_pos):
        n = x_pos.shape[0]
        x_neg = self.sample_negatives(n)
        f, z = self.features(torch.cat([x_pos, x_neg]))
        e = self.head.energy(f)
        e_pos, e_neg = e[:n], e[n:]
        loss_cd, loss_reg = ebm_loss_terms(e_pos, e_neg, self.alpha)
        out = dict(loss_cd=loss_cd, loss_reg=loss_reg,
                   e_pos=e_pos.mean().detach(),
                   e_neg=e_neg.mean().detach())
        if self.guide is None:
            return out
        with torch.no_grad():
            t = self.ebm_augment(x_pos) if self.ebm_augment else x_pos
            y = self.latent(t)
        cos = F.cosine_similarity(z[:n], y, dim=1)
        out['loss_latent'] = -self.beta * cos.mean()
        out['cos_pos'] = cos.mean().detach()
        if self.guide_trainable:
            views = torch.cat([x_pos, x_pos])
            if self.guide_augment is not None:
                views = self.guide_augment(views)
            k = z[n:].detach() if self.use_neg else None
            out['loss_simclr'] = nt_xent(self.latent(views),
                                         self.temperature, k)
        return out

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            return self.loss(inputs)
        if mode == 'tensor':
            return self.energy(inputs)
        if mode == 'predict':
            return self.ood_score(inputs)
        raise ConfigError(f"CLEL.forward: mode must be 'loss', 'tensor' or "
                          f"'predict', got {mode!r}")

    def train_step(self, data, optim_wrapper):
        """One backward for the EBM and guide losses; one optimiser (or an
        ``OptimWrapperDict`` with ``ebm`` and ``guide``) steps them."""
        wrappers = (list(optim_wrapper.values()) if isinstance(
            optim_wrapper, OptimWrapperDict) else [optim_wrapper])
        with wrappers[0].optim_context(self):
            data = self.data_preprocessor(data, True)
            losses = self._run_forward(data, mode='loss')
        loss, log_vars = self.parse_losses(losses)
        wrappers[0].backward(loss)
        for w in wrappers:
            w.step()
            w.zero_grad()
        return log_vars

    # --- sampling -----------------------------------------------------------
    @torch.no_grad()
    def refresh_spectral_norm(self, n_power=10):
        """Run power iterations so the stored u, v (averaged by EMA) give
        the weights' spectral norms again."""
        was = self.backbone.training
        self.backbone.train()
        x = torch.rand(1, *self.img_shape, device=self.buffer.images.device)
        for _ in range(n_power):
            self.backbone(x)
        self.backbone.train(was)

    @staticmethod
    def latent_prototypes_from(latents, labels, num_classes):
        """Mean normalised guide latent per class (K, D) from latents
        (N, D): the targets of conditional generation."""
        y = F.normalize(latents, dim=1)
        protos = torch.zeros(num_classes, y.shape[1], device=y.device,
                             dtype=y.dtype)
        protos.index_add_(0, labels.to(y.device), y)
        return F.normalize(protos, dim=1)

    def guided_energy(self, targets, weights):
        """E(x) − Σ_k γ_k·cos(z(x), y_k): conditional generation (one
        target) and composition (several) by guidance in the latent space.
        ``targets`` (N, K, D), ``weights`` (K, )."""
        def fn(x):
            f, z = self.features(x)
            cos = F.cosine_similarity(z[:, None], targets, dim=2)
            return self.head.energy(f) - (cos * weights).sum(dim=1)
        return fn

    def generate(self, item_ids, seed=0, sampler=None, energy_fn=None):
        """Images of items ``item_ids`` from U[0, 1] by SGLD, with the noise
        of item i drawn from (seed, i): independent of the batch."""
        from rgl.samplers.sgld import item_uniform
        sampler = self.sampler if sampler is None else _build(sampler,
                                                              SAMPLERS)
        dev = self.buffer.images.device
        x = item_uniform(seed, item_ids, -1, self.img_shape,
                         device=dev).float()
        return sampler(energy_fn or self.energy, x, item_ids=item_ids,
                       seed=seed)


def guide_width(guide):
    """The latent width of a guide (``out_dim`` or ``embed_dim``)."""
    for key in ('out_dim', 'embed_dim'):
        if getattr(guide, key, None) is not None:
            return int(getattr(guide, key))
    return None
