"""REPA-E: the stop-gradient of the diffusion loss into the VAE, the REPA
term's path into the VAE encoder, and the batch-normalised latents."""
import pytest
import torch
from diffusers import AutoencoderKL as DiffusersVAE

import rgl.models.generative.repa_e  # noqa: F401 (registers REPAE)
from rgl.registry import MODELS
from rgl.utils.errors import ConfigError

TINY_VAE = dict(in_channels=1, out_channels=1, block_out_channels=(8, 16),
                layers_per_block=1, norm_num_groups=4, latent_channels=4,
                sample_size=16, down_block_types=('DownEncoderBlock2D', ) * 2,
                up_block_types=('UpDecoderBlock2D', ) * 2)


@pytest.fixture(scope='module')
def vae_folder(tmp_path_factory):
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp('repa_e') / 'vae-tiny'
    DiffusersVAE(**TINY_VAE).save_pretrained(folder)
    return str(folder)


def build(vae_folder, **kwargs):
    torch.manual_seed(0)
    cfg = dict(
        type='REPAE',
        backbone=dict(type='SiT', arch=dict(depth=2, hidden_size=32,
                                            num_heads=2, patch_size=1),
                      input_size=8, in_channels=4, num_classes=10),
        vae=dict(type='AutoencoderKL', pretrained=vae_folder),
        aligners=dict(type='REPAAligner', encoders=[], encoder_dims=[16],
                      depth=1, projector_dim=32, loss_weight=0.5),
        label_dropout=0.0)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def batch(n=4):
    g = torch.Generator().manual_seed(1)
    images = torch.rand(n, 1, 16, 16, generator=g)
    feats = [torch.randn(n, 64, 16, generator=g)]  # 8 x 8 target tokens
    return images, feats


def vae_grads(model):
    return [p.grad for p in model.autoencoder.parameters()]


def is_zero(g):
    return g is None or not g.any()


def test_diffusion_loss_leaves_no_gradient_on_the_vae(vae_folder):
    model = build(vae_folder)
    flags = [p.requires_grad for p in model.parameters()]
    images, feats = batch()
    losses = model(images, features=feats)
    assert set(losses) >= {'loss_denoise', 'loss_repa', 'loss_vae_align',
                           'loss_vae_rec', 'loss_vae_kl'}
    losses['loss_denoise'].backward(retain_graph=True)
    assert all(is_zero(g) for g in vae_grads(model))
    # ...while SiT does learn from it (adaLN-Zero: the zero-initialised
    # output layer gets the first gradient)
    assert any(not is_zero(p.grad) for p in model.backbone.parameters())
    # λ L_REPA on the detached latents reaches SiT and projector, not the VAE
    model.zero_grad()
    losses['loss_repa'].backward(retain_graph=True)
    assert all(is_zero(g) for g in vae_grads(model))
    assert model.aligners[0].projectors[0][0].weight.grad.abs().sum() > 0
    # λ_VAE L_REPA reaches the VAE encoder, and neither SiT nor projector
    model.zero_grad()
    losses['loss_vae_align'].backward(retain_graph=True)
    enc = model.autoencoder.vae.encoder.conv_in.weight.grad
    assert enc is not None and enc.abs().sum() > 0
    assert all(is_zero(p.grad)
               for p in model.autoencoder.vae.decoder.parameters())
    assert all(is_zero(p.grad) for p in model.backbone.parameters())
    assert all(is_zero(p.grad) for p in model.aligners.parameters())
    # the parameters are trainable again after the frozen pass
    assert [p.requires_grad for p in model.parameters()] == flags
    # the reconstruction loss trains encoder and decoder
    model.zero_grad()
    losses['loss_vae_rec'].backward()
    assert model.autoencoder.vae.decoder.conv_out.weight.grad.abs().sum() > 0
    assert all(is_zero(p.grad) for p in model.backbone.parameters())


def test_vae_align_is_the_unweighted_cosine_times_the_coefficient(
        vae_folder):
    images, feats = batch()
    out = {}
    for coeff in (1.5, 3.0):
        model = build(vae_folder, vae_align_proj_coeff=coeff)
        torch.manual_seed(5)
        out[coeff] = model(images, features=feats)['loss_vae_align']
    torch.testing.assert_close(out[3.0], 2 * out[1.5])
    # a negative cosine in [-1, 1], weighted by λ_VAE
    assert -1.5 <= out[1.5].item() <= 1.5


def test_latent_bn_train_and_eval_statistics(vae_folder):
    model = build(vae_folder, bn_momentum=0.1)
    bn = model.latent_norm
    assert not bn.affine and bn.momentum == 0.1 and bn.eps == 1e-4
    images, feats = batch()
    with torch.no_grad():
        posterior_mean = model.autoencoder.posterior(images).mean
    torch.manual_seed(3)
    model(images, features=feats)
    # rebuild z with the same draws: the forward samples z first
    torch.manual_seed(3)
    with torch.no_grad():
        z = model.autoencoder.posterior(images).sample()
    assert not torch.equal(z, posterior_mean)
    n = z.numel() / z.shape[1]
    mean = z.mean((0, 2, 3))
    var = z.var((0, 2, 3), unbiased=False) * n / (n - 1)
    # running = (1 − m) · running + m · batch, from (0, 1)
    torch.testing.assert_close(bn.running_mean, 0.1 * mean)
    torch.testing.assert_close(bn.running_var, 0.9 + 0.1 * var)
    # train mode: batch statistics, zero mean and unit variance per channel
    model.train()
    out = bn(z)
    torch.testing.assert_close(out.mean((0, 2, 3)), torch.zeros(4),
                               atol=1e-5, rtol=0)
    # eval mode: the running statistics, untouched by the call
    model.eval()
    before = bn.running_mean.clone()
    expected = (z - bn.running_mean.view(1, -1, 1, 1)) / (
        bn.running_var.view(1, -1, 1, 1) + 1e-4).sqrt()
    torch.testing.assert_close(bn(z), expected)
    assert torch.equal(bn.running_mean, before)
    # decoding inverts the eval-mode normalisation
    torch.testing.assert_close(model.denormalize(expected), z, atol=1e-5,
                               rtol=1e-5)


def test_initial_latent_stats_and_errors(vae_folder):
    model = build(vae_folder, latent_mean=[1, 2, 3, 4],
                  latent_std=[2, 2, 2, 2])
    assert model.latent_norm.running_mean.tolist() == [1, 2, 3, 4]
    assert model.latent_norm.running_var.tolist() == [4, 4, 4, 4]
    with pytest.raises(ConfigError, match='latent_std'):
        build(vae_folder, latent_std=[1, 1])
    with pytest.raises(ConfigError, match='gan'):
        build(vae_folder, gan=dict(type='PatchGAN'))
    sampler_only = build(vae_folder, aligners=None)  # tools/sample.py's
    with pytest.raises(ConfigError, match='aligners'):
        sampler_only(*batch()[:1])


def test_vae_is_in_the_state_dict_and_samples_decode(vae_folder):
    model = build(vae_folder)
    keys = model.state_dict().keys()
    assert any(k.startswith('autoencoder.vae.encoder.') for k in keys)
    assert 'latent_norm.running_mean' in keys
    imgs = model.sample(torch.tensor([1, 2]),
                        sampler=dict(type='ODESampler', num_steps=2,
                                     method='euler'))
    assert imgs.shape == (2, 1, 16, 16)
    assert imgs.min() >= 0 and imgs.max() <= 1
