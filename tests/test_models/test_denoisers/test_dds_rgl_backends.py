"""Denoisers from rgl's DDPM (DiT) and flow-matching (SiT) models."""
import math

import pytest
import torch

from rgl.models.denoisers import (DDPMDenoiser, FlowMatchingDenoiser,
                                  match_timestep)
from rgl.registry import MODELS
from rgl.utils.errors import CheckpointError, ConfigError

ARCH = dict(depth=1, hidden_size=32, num_heads=2, patch_size=2)


def ddpm_cfg(**kw):
    return dict(type='DDPM', num_timesteps=1000,
                backbone=dict(type='DiT', arch=ARCH, input_size=8,
                              in_channels=1, num_classes=10), **kw)


def flow_cfg(path='linear'):
    return dict(type='FlowMatching', path=path,
                backbone=dict(type='SiT', arch=ARCH, input_size=8,
                              in_channels=1, num_classes=10))


def randomize(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return module


def images(n=3, seed=0):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(
        seed))


@pytest.mark.parametrize('cfg', [ddpm_cfg(), flow_cfg(), flow_cfg('cosine')])
def test_exact_on_clean_inputs(cfg):
    """adaLN-Zero networks output 0 at init (ε̂ = 0 / v = 0): the one-shot
    estimate is then the input itself as σ → 0."""
    kind = 'DDPMDenoiser' if cfg['type'] == 'DDPM' else \
        'FlowMatchingDenoiser'
    den = MODELS.build(dict(type=kind, model=cfg))
    x = images()
    torch.testing.assert_close(den.denoise(x, 1e-6), x, atol=1e-5,
                               rtol=0)
    torch.testing.assert_close(den.denoise(x, 0.0), x)


def test_ddpm_one_shot_against_hand_computation():
    den = DDPMDenoiser(model=ddpm_cfg())
    randomize(den.model.backbone)
    x = images(4)
    sigma = 0.25
    noisy = x + sigma * torch.randn(x.shape, generator=torch.Generator()
                                    .manual_seed(3))
    a = den.alphas_cumprod
    t = match_timestep(a, 2 * sigma)
    x_t = math.sqrt(a[t]) * (2 * noisy - 1)
    y = torch.full((4, ), 10)  # the null class
    eps = den.model.backbone(x_t, torch.full((4, ), float(t)), y)[:, :1]
    x0 = (x_t - math.sqrt(1 - a[t]) * eps) / math.sqrt(a[t])
    expected = (x0.clamp(-1, 1) + 1) / 2
    torch.testing.assert_close(den.denoise(noisy, sigma), expected,
                               atol=1e-5, rtol=1e-5)
    # batched like smoothing batches: any split gives the same images
    split = DDPMDenoiser(model=den.model, max_batch=1)
    torch.testing.assert_close(split.denoise(noisy, sigma),
                               den.denoise(noisy, sigma), atol=1e-6, rtol=0)


def test_flow_one_shot_against_hand_computation():
    den = FlowMatchingDenoiser(model=flow_cfg())
    randomize(den.model.backbone, 1)
    noisy = images(2)
    sp = 2 * 0.5
    t = sp / (1 + sp)  # linear path: σ_t/α_t = t/(1−t) = σ'
    x_t = (1 - t) * (2 * noisy - 1)
    v = den.model.backbone(x_t, torch.full((2, ), t), torch.full((2, ), 10))
    expected = ((x_t - t * v).clamp(-1, 1) + 1) / 2  # x = x_t − t v
    torch.testing.assert_close(den.denoise(noisy, 0.5), expected,
                               atol=1e-5, rtol=1e-5)
    ode = FlowMatchingDenoiser(model=den.model, num_steps=4)
    out = ode.denoise(noisy, 0.5)
    assert out.shape == noisy.shape and 0 <= out.min() and out.max() <= 1


def test_multistep_is_the_ancestral_sampler():
    den = DDPMDenoiser(model=ddpm_cfg(), multistep=True, seed=0)
    randomize(den.model.backbone, 2)
    x = images(2)
    a = den.denoise(x, 0.02)
    torch.testing.assert_close(den.denoise(x, 0.02), a)  # seeded, not global
    assert a.shape == x.shape and 0 <= a.min() and a.max() <= 1
    calls = []
    den.model.backbone.register_forward_hook(
        lambda m, i, o: calls.append(int(i[1][0])))
    den.denoise(x, 0.02)
    t = match_timestep(den.alphas_cumprod, 0.04)
    assert calls == list(range(t - 1, -1, -1))  # the reference's range(t)


def test_multistep_noise_is_per_row_not_per_batch():
    """The ancestral noise of a row is drawn from (seed, the row's input),
    so a row's result does not depend on the batch it is denoised in."""
    sigma = 0.05
    den = DDPMDenoiser(model=ddpm_cfg(), multistep=True, seed=7)
    randomize(den.model.backbone, 2)
    noisy = images(4, seed=1)
    whole = den.denoise(noisy, sigma)
    # one image at a time, another batch order, and max_batch splits
    ones = torch.cat([den.denoise(noisy[i:i + 1], sigma) for i in range(4)])
    torch.testing.assert_close(ones, whole, atol=1e-5, rtol=0)
    perm = [2, 0, 3, 1]
    torch.testing.assert_close(den.denoise(noisy[perm], sigma), whole[perm],
                               atol=1e-5, rtol=0)
    den.max_batch = 3
    torch.testing.assert_close(den.denoise(noisy, sigma), whole, atol=1e-5,
                               rtol=0)
    # the noise is really there: another seed gives another result, and
    # two equal rows (the same draw) give equal results
    other = DDPMDenoiser(model=den.model, multistep=True, seed=8)
    assert (other.denoise(noisy, sigma) - whole).abs().max() > 1e-3
    twin = den.denoise(noisy[[0, 0]], sigma)
    torch.testing.assert_close(twin[1], twin[0])
    with pytest.raises(ConfigError, match='denoiser.seed'):
        DDPMDenoiser(model=ddpm_cfg(), multistep=True, seed='0')
    # through the smoothed classifier: the votes of each image do not
    # depend on the batch its draws share
    clf = dict(type='ImageClassifier', num_classes=10,
               backbone=dict(type='SmallConvNet', in_channels=1,
                             widths=(8, 8)))
    torch.manual_seed(0)
    smooth = MODELS.build(dict(type='SmoothedClassifier', classifier=clf,
                               sigma=sigma, denoiser=den))
    den.max_batch = None
    x, keys = images(3, seed=2), [(0, 5), (0, 6), (0, 7)]
    a = smooth.sample_counts(x, 6, 18, seeds=keys)
    b = smooth.sample_counts(x, 6, 4, seeds=keys)
    one = torch.cat([smooth.sample_counts(x[i:i + 1], 6, 5, seeds=[k])
                     for i, k in enumerate(keys)])
    assert torch.equal(a, b) and torch.equal(a, one)


def test_checkpoint_round_trip_and_mismatch(tmp_path):
    model = randomize(MODELS.build(ddpm_cfg()))
    path = tmp_path / 'ddpm.pth'
    torch.save(dict(state_dict=model.state_dict()), path)
    den = DDPMDenoiser(model=ddpm_cfg(), checkpoint=str(path))
    for k, v in model.state_dict().items():
        torch.testing.assert_close(den.model.state_dict()[k], v)
    state = model.state_dict()
    first = next(iter(state))
    state.pop(first)
    torch.save(dict(state_dict=state), path)
    with pytest.raises(CheckpointError, match=first.replace('.', r'\.')):
        DDPMDenoiser(model=ddpm_cfg(), checkpoint=str(path))


def test_bad_configs_name_the_key():
    with pytest.raises(ConfigError, match='sigma'):
        DDPMDenoiser(model=ddpm_cfg()).denoise(images(), 100.0)
    with pytest.raises(ConfigError, match='denoiser.model'):
        DDPMDenoiser(model=flow_cfg())
    with pytest.raises(ConfigError, match='autocast'):
        DDPMDenoiser(model=ddpm_cfg(), autocast='int8')
    with pytest.raises(ConfigError, match='sigma'):
        FlowMatchingDenoiser(model=flow_cfg()).denoise(images(), -1.0)


def test_through_the_smoothed_classifier_and_bf16():
    den = dict(type='DDPMDenoiser', model=ddpm_cfg(), autocast='bf16',
               channels_last=True)
    clf = dict(type='ImageClassifier', num_classes=10,
               backbone=dict(type='SmallConvNet', in_channels=1,
                             widths=(8, 8)))
    smooth = MODELS.build(dict(type='SmoothedClassifier', classifier=clf,
                               sigma=1e-6, denoiser=den))
    x = images(2)
    # the zero-output denoiser is the identity: same logits as without it
    want = smooth.classifier.logits(x)
    torch.testing.assert_close(smooth.base_logits(x), want, atol=2e-2,
                               rtol=0)
    counts = smooth.sample_counts(x, 8, 5,
                                  generator=torch.Generator().manual_seed(0))
    assert counts.sum().item() == 16
