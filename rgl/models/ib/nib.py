"""Nuisance-extended information bottleneck (NIB; Jeong et al., CVPR 2023).

See docs/methods/nib.md for the objective, the paper's equations and every
choice made where the paper leaves one open.
"""
import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import nn

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError
from rgl.utils.shapes import check_input_shape
from ..classifiers.image_classifier import (build_module, infer_feature_dim,
                                            stack_labels)
from ..utils import Normalize
from .gradient_reversal import reverse_gradient


def gaussian_kl(mu, logvar):
    """``KL(N(μ, diag σ²) || N(0, I))`` summed over dimensions, averaged over
    the batch: ``½ Σ_j (μ_j² + σ_j² - 1 - log σ_j²)``."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(dim=1).mean()


class NuisanceAdversary(nn.Module):
    """``a(z_n) -> logits``: conv-ReLU, global pooling, linear.

    It estimates how much the nuisance map tells about the label ``y``; the
    encoder, behind a gradient reversal, learns to make it fail.
    """

    def __init__(self, in_channels, num_classes, hidden=128):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, hidden, 3, padding=1)
        self.fc = nn.Linear(hidden, num_classes)

    def forward(self, z_n):
        return self.fc(F.relu(self.conv(z_n)).mean(dim=(2, 3)))


class NuisancePriorDiscriminator(NuisanceAdversary):
    """``d(z_n) -> logit``: the adversarial auto-encoder's discriminator.

    It tells draws of the prior ``p(z_n) = N(0, I)`` (logit > 0) from
    encoded nuisances (logit < 0); the encoder, behind a gradient reversal,
    learns to make its ``z_n`` indistinguishable from the prior
    (Makhzani et al., 2016), which is how the paper's AENIB regularises
    ``z_n`` (docs/methods/nib.md).
    """

    def __init__(self, in_channels, hidden=128):
        super().__init__(in_channels, 1, hidden)


@MODELS.register_module()
class NuisanceIBClassifier(BaseModel):
    """A classifier whose encoder also models the nuisance ``z_n`` of ``x``.

    ``x -> Normalize -> backbone -> split -> (h, z_n)``; ``h`` parametrises
    the IB latent ``q(z|x) = N(μ(h), diag σ²(h))``, the classifier reads
    ``z`` and the decoder reconstructs ``x`` from ``(z, z_n)``. Training
    minimises (docs/methods/nib.md)::

        L = CE(c(z), y)                       # max I(z; y)
          + β · KL(q(z|x) || N(0, I))         # min I(z; x)     (VIB)
          + λ_rec · ||x - D(z, z_n)||²        # max I(x; z, z_n)
          + λ_prior · [BCE(d(ε), 1)            # q(z_n) -> N(0, I)
                       + BCE(d(sg z_n), 0)        (adversarial AE:
                       + η · BCE(d̄(z_n), 1)]      d̄ = d frozen)
          + λ_adv · CE(a(GRL_η(z_n)), y)      # I(z_n; y) -> 0  (adversary)

    ``GRL_η`` passes ``z_n`` unchanged and multiplies the gradient by
    ``-η``: the adversary ``a`` learns to predict ``y`` from ``z_n`` while
    the encoder learns to remove that information. The discriminator ``d``
    learns to tell prior draws ``ε ~ N(0, I)`` from the (stopped-gradient)
    ``z_n`` while the encoder, through a frozen copy ``d̄``, learns to make
    ``d̄`` call its ``z_n`` prior draws (the non-saturating generator loss:
    a reversed gradient vanishes once ``d`` wins). The paper describes its
    model as an adversarial auto-encoder inside a variational IB (the prior
    term); the label adversary is rgl's addition, off with
    ``adv_weight=0``.

    At test time ``logits(x) = c(μ(h))``: the classifier interface that
    smoothing wraps and certification queries, like ``ImageClassifier``.

    Args:
        backbone (dict | nn.Module): any registered network; its last
            output is a feature map (CNN) or tokens (ViT, ``out_type='raw'``).
        num_classes (int): K.
        split (dict): :class:`ChannelSplit` (CNN) or :class:`TokenSplit`
            (ViT).
        decoder (dict | nn.Module): e.g. :class:`NIBConvDecoder`; ``z_dim``
            and ``nuisance_channels`` are filled in.
        z_dim (int, optional): dimension of ``z`` (default: that of ``h``).
        feature_width (int, optional): channels/width of the backbone output
            (read from the backbone when omitted).
        beta (float): β of the VIB term; 0 with ``stochastic=False`` gives a
            deterministic ``z = μ(h)``.
        rec_weight (float): λ_rec.
        adv_weight (float): λ_adv of the label adversary on ``z_n``.
        prior_weight (float): λ_prior of the adversarial auto-encoder term
            matching ``z_n`` to ``N(0, I)`` (0: off).
        adv_scale (float): η, the gradient-reversal scale of the label
            adversary and the weight of the encoder's side of the prior
            game.
        adversary_hidden (int): channels of the adversary.
        stochastic (bool): sample ``z`` by reparametrisation in training.
        mean, std (Sequence[float], optional): normalisation of the [0, 1]
            input inside the model (the decoder targets the [0, 1] input).
        train_loss (dict, optional): a robust classification objective from
            ``rgl.models.losses`` (e.g. ``CATRSLoss``) called as
            ``train_loss(self.logits, x, labels)`` in place of ``CE(c(z),
            y)``, as in :class:`ImageClassifier`; the KL, reconstruction,
            prior and adversary terms stay on the clean ``x``. ``None``: the
            cross-entropy above.
    """

    def __init__(self,
                 backbone,
                 num_classes,
                 split,
                 decoder,
                 z_dim=None,
                 feature_width=None,
                 beta=1e-3,
                 rec_weight=1.0,
                 adv_weight=1.0,
                 prior_weight=0.0,
                 adv_scale=1.0,
                 adversary_hidden=128,
                 stochastic=True,
                 mean=None,
                 std=None,
                 train_loss=None,
                 data_preprocessor=None,
                 init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ImageDataPreprocessor')
        super().__init__(data_preprocessor=build_module(data_preprocessor),
                         init_cfg=init_cfg)
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ConfigError('model.num_classes must be a positive int, '
                              f'got {num_classes!r}')
        for key, value in dict(beta=beta, rec_weight=rec_weight,
                               adv_weight=adv_weight,
                               prior_weight=prior_weight,
                               adv_scale=adv_scale).items():
            if not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f'model.{key} must be a number >= 0, got '
                                  f'{value!r}')
        self.num_classes = num_classes
        self.normalize = Normalize(mean, std)
        self.backbone = build_module(backbone)
        width = feature_width or infer_feature_dim(self.backbone)
        if width is None:
            raise ConfigError(
                'model.feature_width is required: cannot read the feature '
                f'width of {type(self.backbone).__name__}')
        self.split = MODELS.build(split) if isinstance(split, dict) else split
        self.split.check(width)
        h_dim = self.split.ib_dim(width)
        n_dim = self.split.nuisance_dim(width)
        self.z_dim = z_dim or h_dim
        self.stochastic = stochastic
        # μ and log σ² of q(z|x); without sampling only μ is needed
        self.encode_z = nn.Linear(h_dim,
                                  self.z_dim * (2 if stochastic else 1))
        self.head = nn.Linear(self.z_dim, num_classes)
        if isinstance(decoder, dict):
            decoder = dict(decoder)
            decoder.setdefault('z_dim', self.z_dim)
            decoder.setdefault('nuisance_channels', n_dim)
        self.decoder = build_module(decoder)
        self.adversary = NuisanceAdversary(n_dim, num_classes,
                                           adversary_hidden)
        self.prior_weight = float(prior_weight)
        # built only when used, so checkpoints without it still load
        # strictly. With the prior game, z_n is a linear (1x1) map of the
        # split features, like z is of h: the backbone's last map is often
        # post-ReLU (>= 0), which no N(0, I) draw resembles
        self.prior_discriminator = (NuisancePriorDiscriminator(
            n_dim, adversary_hidden) if self.prior_weight > 0 else None)
        self.encode_n = (nn.Conv2d(n_dim, n_dim, 1)
                         if self.prior_weight > 0 else None)
        self.beta = float(beta)
        self.rec_weight = float(rec_weight)
        self.adv_weight = float(adv_weight)
        self.adv_scale = float(adv_scale)
        self.train_loss = None if train_loss is None else build_module(
            train_loss)

    # ------------------------------------------------------------------
    def encode(self, x):
        """``(μ, log σ², z_n)`` for images ``x`` in [0, 1]."""
        if self.normalize.enabled and self.normalize.mean.numel() > 1:
            channels = self.normalize.mean.numel()
            check_input_shape(
                x, type(self).__name__, channels,
                channels_from=f'model.mean has {channels} values')
        h, z_n = self.split(self.backbone(self.normalize(x)))
        if self.encode_n is not None:
            z_n = self.encode_n(z_n)
        stats = self.encode_z(h)
        if self.stochastic:
            mu, logvar = stats.chunk(2, dim=1)
            # bounded for stability: σ² in [e^-10, e^10]
            logvar = logvar.clamp(-10, 10)
        else:
            mu, logvar = stats, None
        return mu, logvar, z_n

    def logits(self, x):
        """``f(x) = c(μ(x))``: logits ``(N, K)`` for images in [0, 1]."""
        return self.head(self.encode(x)[0])

    def loss(self, x, labels):
        """The four terms of the NIB objective as ``dict(loss_xxx=...)``."""
        mu, logvar, z_n = self.encode(x)
        if self.stochastic and self.training:
            z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        else:
            z = mu
        if self.train_loss is None:
            losses = dict(loss_cls=F.cross_entropy(self.head(z), labels))
        else:  # e.g. CAT-RS on noisy copies, through f(x) = c(μ(x))
            losses = dict(self.train_loss(self.logits, x, labels))
        if self.stochastic and self.beta > 0:
            losses['loss_kl'] = self.beta * gaussian_kl(mu, logvar)
        x_hat = self.decoder(z, z_n)
        if x_hat.shape != x.shape:
            raise ConfigError(
                f'model.decoder outputs {tuple(x_hat.shape)}, the input is '
                f'{tuple(x.shape)}: check out_channels and img_size')
        losses['loss_rec'] = self.rec_weight * F.mse_loss(x_hat, x)
        adv_logits = self.adversary(reverse_gradient(z_n, self.adv_scale))
        losses['loss_adv'] = self.adv_weight * F.cross_entropy(
            adv_logits, labels)
        with torch.no_grad():  # logged: near chance when z_n is label-free
            losses['adv_acc'] = (adv_logits.argmax(1) == labels).float().mean()
        if self.prior_discriminator is not None:
            losses.update(self.prior_loss(z_n))
        return losses

    def prior_loss(self, z_n):
        """The adversarial auto-encoder term, non-saturating as in
        Makhzani et al.: ``d`` descends ``BCE(d(ε), 1) + BCE(d(sg z_n), 0)``
        (``loss_prior``); the encoder descends ``η · BCE(d(z_n), 1)``
        through a frozen copy of ``d`` (``loss_prior_enc``)."""
        from torch.func import functional_call
        d = self.prior_discriminator
        prior = torch.randn_like(z_n)
        real, fake = d(prior), d(z_n.detach())
        loss = (F.binary_cross_entropy_with_logits(
            real, torch.ones_like(real)) + F.binary_cross_entropy_with_logits(
                fake, torch.zeros_like(fake)))
        frozen = {k: v.detach() for k, v in d.named_parameters()}
        frozen.update(dict(d.named_buffers()))
        fooled = functional_call(d, frozen, (z_n, ))
        loss_enc = F.binary_cross_entropy_with_logits(
            fooled, torch.ones_like(fooled))
        with torch.no_grad():  # logged: 0.5 when q(z_n) matches the prior
            acc = torch.cat([real > 0, fake < 0]).float().mean()
        return dict(loss_prior=self.prior_weight * loss,
                    loss_prior_enc=self.prior_weight * self.adv_scale *
                    loss_enc,
                    prior_disc_acc=acc)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'tensor':
            return self.logits(inputs)
        if mode == 'loss':
            return self.loss(inputs, stack_labels(data_samples,
                                                  inputs.device))
        if mode == 'predict':
            scores = self.logits(inputs).softmax(dim=1)
            for sample, score in zip(data_samples, scores):
                sample.set_pred_score(score).set_pred_label(score.argmax())
            return data_samples
        raise ValueError(f'mode must be tensor, loss or predict, got {mode}')
