import math

import pytest
import torch
import torch.nn.functional as F

from rgl.models.ib import (ChannelSplit, NuisanceIBClassifier, TokenSplit,
                           gaussian_kl, reverse_gradient)
from rgl.utils.errors import ConfigError


def tiny_cnn_nib(**kw):
    cfg = dict(
        backbone=dict(type='SmallConvNet', in_channels=1, widths=(8, 12)),
        num_classes=3,
        split=dict(type='ChannelSplit', nuisance_channels=4),
        decoder=dict(type='NIBConvDecoder', out_channels=1, img_size=8,
                     feature_size=2, z_channels=4, width=8),
        z_dim=5, beta=0.5, rec_weight=2.0, adv_weight=0.3,
        adversary_hidden=6, mean=[0.5], std=[0.5])
    cfg.update(kw)
    return NuisanceIBClassifier(**cfg)


def test_gaussian_kl_by_hand():
    mu = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(2.0)], [0.0, 0.0]])
    # row 0: ½(1 + 0 + (2 - 1 - log 2)); row 1: 0; batch mean
    expected = 0.5 * (1 + 1 - math.log(2.0)) / 2
    assert gaussian_kl(mu, logvar).item() == pytest.approx(expected)


def test_loss_terms_against_their_definitions():
    torch.manual_seed(0)
    model = tiny_cnn_nib().eval()  # eval: z = μ, BN in inference mode
    x = torch.rand(4, 1, 8, 8)
    y = torch.tensor([0, 1, 2, 1])
    losses = model.loss(x, y)
    feats = model.backbone((x - 0.5) / 0.5)
    assert feats.shape == (4, 12, 2, 2)
    h, z_n = feats[:, :8].mean(dim=(2, 3)), feats[:, 8:]
    mu, logvar = model.encode_z(h).chunk(2, dim=1)
    kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1).mean()
    x_hat = model.decoder(mu, z_n)
    adv = model.adversary(z_n)
    torch.testing.assert_close(losses['loss_cls'],
                               F.cross_entropy(model.head(mu), y))
    torch.testing.assert_close(losses['loss_kl'], 0.5 * kl)
    torch.testing.assert_close(losses['loss_rec'],
                               2.0 * ((x_hat - x)**2).mean())
    torch.testing.assert_close(losses['loss_adv'],
                               0.3 * F.cross_entropy(adv, y))
    torch.testing.assert_close(model.logits(x), model.head(mu))


def test_training_samples_z_and_eval_is_deterministic():
    torch.manual_seed(0)
    model = tiny_cnn_nib()
    x, y = torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 2, 1])
    model.train()
    a, b = model.loss(x, y)['loss_cls'], model.loss(x, y)['loss_cls']
    assert not torch.equal(a, b)  # z ~ q(z|x) is resampled
    model.eval()
    torch.testing.assert_close(model.logits(x), model.logits(x))


def test_channel_split_shapes_and_values():
    feats = torch.randn(2, 8, 4, 4)
    h, z_n = ChannelSplit(nuisance_channels=3)(feats)
    assert h.shape == (2, 5) and z_n.shape == (2, 3, 4, 4)
    torch.testing.assert_close(h, feats[:, :5].mean(dim=(2, 3)))
    torch.testing.assert_close(z_n, feats[:, 5:])
    # mmpretrain-style tuple outputs: the last stage is used
    h2, _ = ChannelSplit(nuisance_channels=3)((torch.zeros(1), feats))
    torch.testing.assert_close(h2, h)


def test_token_split_cls_versus_patch_grid():
    tokens = torch.randn(2, 1 + 16, 6)
    h, z_n = TokenSplit()(tokens)
    assert h.shape == (2, 6) and z_n.shape == (2, 6, 4, 4)
    torch.testing.assert_close(h, tokens[:, 0])
    # patch (row i, column j) is token 1 + 4 i + j
    torch.testing.assert_close(z_n[:, :, 2, 3], tokens[:, 1 + 4 * 2 + 3])
    with pytest.raises(ConfigError, match='square grid'):
        TokenSplit(num_prefix_tokens=2)(tokens)


def test_vit_backbone_through_token_split():
    torch.manual_seed(0)
    model = NuisanceIBClassifier(
        backbone=dict(
            type='mmpretrain.VisionTransformer',
            arch=dict(embed_dims=16, num_layers=1, num_heads=2,
                      feedforward_channels=32),
            img_size=16, patch_size=4, in_channels=3, out_type='raw'),
        num_classes=4,
        split=dict(type='TokenSplit'),
        decoder=dict(type='NIBConvDecoder', out_channels=3, img_size=16,
                     feature_size=4, z_channels=4, width=8),
        z_dim=8)
    x, y = torch.rand(2, 3, 16, 16), torch.tensor([0, 3])
    mu, logvar, z_n = model.encode(x)
    assert mu.shape == (2, 8) and z_n.shape == (2, 16, 4, 4)
    losses = model.loss(x, y)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert model.backbone.cls_token.grad is not None
    assert model.logits(x).shape == (2, 4)


def test_nuisance_split_larger_than_feature_width_names_the_key():
    with pytest.raises(ConfigError, match='nuisance_channels=12.*width 12'):
        tiny_cnn_nib(split=dict(type='ChannelSplit', nuisance_channels=12))
    with pytest.raises(ConfigError, match='nuisance_channels'):
        tiny_cnn_nib(split=dict(type='ChannelSplit', nuisance_channels=0))
    with pytest.raises(ConfigError, match='model.beta'):
        tiny_cnn_nib(beta=-1)


def test_gradient_reversal_sign_and_scale():
    x = torch.randn(3, 4, requires_grad=True)
    w = torch.randn(3, 4)
    y = reverse_gradient(x, 0.5)
    torch.testing.assert_close(y, x)
    (y * w).sum().backward()
    torch.testing.assert_close(x.grad, -0.5 * w)


def test_adversary_and_encoder_get_opposite_gradients():
    """Through the model: the adversary descends its loss, the encoder side
    (z_n) receives the reversed, η-scaled gradient."""
    torch.manual_seed(0)
    model = tiny_cnn_nib(adv_scale=2.0).eval()
    x, y = torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 2, 1])
    z_n = model.encode(x)[2].detach().requires_grad_(True)
    loss = 0.3 * F.cross_entropy(model.adversary(z_n), y)
    (plain, ) = torch.autograd.grad(loss, z_n)
    z_n2 = z_n.detach().requires_grad_(True)
    rev = 0.3 * F.cross_entropy(
        model.adversary(reverse_gradient(z_n2, 2.0)), y)
    (reversed_grad, ) = torch.autograd.grad(rev, z_n2)
    torch.testing.assert_close(reversed_grad, -2.0 * plain)


def test_adversarial_autoencoder_prior_term():
    torch.manual_seed(0)
    plain = tiny_cnn_nib()
    assert plain.prior_discriminator is None  # state dict unchanged
    assert 'loss_prior' not in plain.loss(torch.rand(2, 1, 8, 8),
                                          torch.tensor([0, 1]))
    model = tiny_cnn_nib(prior_weight=0.7, adv_scale=2.0).eval()
    x, y = torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 2, 1])
    torch.manual_seed(1)
    losses = model.loss(x, y)
    # by hand: the same prior draw (randn_like after the same draws)
    torch.manual_seed(1)
    # with the prior game z_n is a 1x1 linear map of the split channels
    z_n = model.encode_n(model.backbone((x - 0.5) / 0.5)[:, 8:])
    assert plain.encode_n is None
    eps = torch.randn_like(z_n)
    d = model.prior_discriminator
    bce = F.binary_cross_entropy_with_logits
    ones, zeros = torch.ones(4, 1), torch.zeros(4, 1)
    expected = bce(d(eps), ones) + bce(d(z_n), zeros)
    torch.testing.assert_close(losses['loss_prior'], 0.7 * expected)
    torch.testing.assert_close(losses['loss_prior_enc'],
                               0.7 * 2.0 * bce(d(z_n), ones))
    assert 0 <= losses['prior_disc_acc'] <= 1
    # the discriminator learns only from loss_prior, the encoder only from
    # loss_prior_enc
    model.zero_grad()
    losses['loss_prior'].backward(retain_graph=True)
    assert all(p.grad is None or p.grad.abs().sum() == 0
               for p in model.backbone.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in d.parameters())
    model.zero_grad()
    losses['loss_prior_enc'].backward()
    assert all(p.grad is None for p in d.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.backbone.parameters())
    with pytest.raises(ConfigError, match='model.prior_weight'):
        tiny_cnn_nib(prior_weight=-1)


def test_train_loss_replaces_the_cross_entropy_only():
    """A robust objective (CAT-RS here) takes the place of CE(c(z), y) and
    sees the classifier f(x) = c(μ(x)); the other NIB terms stay."""
    torch.manual_seed(0)
    catrs = dict(type='CATRSLoss', sigma=0.25, num_noise=2, lbd=0.5,
                 epsilon=1.0, num_steps=1)
    model = tiny_cnn_nib(train_loss=catrs).eval()
    plain = tiny_cnn_nib().eval()
    plain.load_state_dict(model.state_dict())  # no new parameters
    x, y = torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 2, 1])
    seen = []

    class Spy(torch.nn.Module):

        def forward(self, logits_fn, inputs, labels):
            seen.append(torch.equal(logits_fn(inputs), model.logits(inputs)))
            return dict(loss_robust=logits_fn(inputs).sum() * 0)

    assert isinstance(model.train_loss, torch.nn.Module)  # CATRSLoss built
    model.train_loss = Spy()
    losses = model.loss(x, y)
    assert seen == [True] and 'loss_cls' not in losses
    reference = plain.loss(x, y)
    for key in ('loss_kl', 'loss_rec', 'loss_adv'):
        torch.testing.assert_close(losses[key], reference[key])
    model.train_loss = None
    torch.testing.assert_close(model.loss(x, y)['loss_cls'],
                               reference['loss_cls'])
