"""Score sources on tiny random diffusers pipelines saved to disk."""
import json

import pytest
import torch

from rgl.models.distillers.tiny import build_tiny_pipeline
from rgl.registry import MODELS
from rgl.utils.errors import CheckpointError, ConfigError


@pytest.fixture(scope='module')
def ip2p_dir(tmp_path_factory):
    return build_tiny_pipeline(str(tmp_path_factory.mktemp('ip2p')))


@pytest.fixture(scope='module')
def distiller(ip2p_dir):
    return MODELS.build(dict(
        type='SVGDDistiller', score_source=dict(
            type='InstructPix2PixScore', pretrained=ip2p_dir,
            guidance_scale=3.0, image_guidance_scale=2.0,
            vae_offload=True)))


def test_csd_ip2p_score_matches_separate_unet_calls(distiller):
    src = distiller.score_source
    src.set_prompts('a red dog', 'a cat', 'blurry')
    torch.manual_seed(0)
    lat = torch.randn(2, 4, 8, 8)
    tgt = lat + 0.3 * torch.randn_like(lat)
    eps = torch.randn_like(lat)
    t = 300
    nt, ns = src.add_noise(tgt, eps, t), src.add_noise(lat, eps, t)
    score = src(nt, t, ns, lat)

    prompts = ('a red dog', 'a cat', 'blurry')
    emb = {k: src.encode_text([k]) for k in prompts}

    def eps_of(x, img, prompt):
        c = emb[prompt].expand(len(x), -1, -1)
        ts = torch.full((len(x), ), t)
        return src.unet(torch.cat([x, img], 1), ts,
                        encoder_hidden_states=c).sample

    def guided(x, prompt):
        zero = torch.zeros_like(lat)
        e_ti, e_i = eps_of(x, lat, prompt), eps_of(x, lat, 'blurry')
        e_u = eps_of(x, zero, 'blurry')
        return e_u + 3.0 * (e_ti - e_i) + 2.0 * (e_i - e_u)

    with torch.no_grad():
        expected = guided(nt, 'a red dog') - guided(ns, 'a cat')
    torch.testing.assert_close(score, expected, atol=1e-5, rtol=1e-4)
    # the source baseline: same prompt and latent give a zero score
    src.set_prompts('a cat', 'a cat', 'blurry')
    assert src(ns, t, ns, lat).abs().max() < 1e-6
    torch.testing.assert_close(src.weight(t), 1 - src.alphas_cumprod[t])


def test_csd_particle_noise_independent_of_batch(distiller):
    distiller.score_source.set_prompts('a dog')
    a = distiller.noise(3, [0, 1, 2], (4, 8, 8))
    b = distiller.noise(3, [2], (4, 8, 8))
    torch.testing.assert_close(a[2], b[0])
    assert not torch.equal(a[0], a[1])
    assert distiller.sample_t(3) == distiller.sample_t(3)


def test_csd_vae_roundtrip_and_errors(distiller, ip2p_dir, tmp_path):
    src = distiller.score_source
    lat = src.encode(torch.rand(2, 3, 16, 16))
    assert lat.shape == (2, 4, 8, 8)
    assert next(src.vae_module.parameters()).device.type == 'cpu'
    assert src.decode(lat).shape == (2, 3, 16, 16)
    with pytest.raises(ConfigError, match='multiple of the VAE factor 2'):
        src.encode(torch.rand(1, 3, 15, 16))
    with pytest.raises(ConfigError, match='at least two particles'):
        distiller.gradient(lat[:1], lat[:1], 0)
    with pytest.raises(ConfigError, match=r't_range \(20, 1000\)'):
        MODELS.build(dict(type='SVGDDistiller', score_source=src,
                          t_range=(20, 1000)))
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(CheckpointError, match='nowhere'):
        MODELS.build(dict(type='InstructPix2PixScore', pretrained=missing))
    with pytest.raises(CheckpointError,
                       match='StableDiffusionInstructPix2PixPipeline'):
        MODELS.build(dict(type='StableDiffusionScore', pretrained=ip2p_dir))


def test_csd_sds_score(tmp_path):
    folder = build_tiny_pipeline(str(tmp_path / 'sd'),
                                 kind='stable_diffusion')
    with open(f'{folder}/model_index.json') as f:
        assert json.load(f)['_class_name'] == 'StableDiffusionPipeline'
    src = MODELS.build(dict(type='StableDiffusionScore', pretrained=folder,
                            guidance_scale=5.0, dtype='bf16'))
    src.set_prompts('a dog')
    torch.manual_seed(1)
    x0, eps = torch.randn(2, 4, 8, 8), torch.randn(2, 4, 8, 8)
    xt = src.add_noise(x0, eps, 100)
    score = src(xt, 100, noise=eps)
    c = src.encode_text(['a dog', ''])
    ts = torch.full((2, ), 100)
    c_c, c_u = c[:1].expand(2, -1, -1), c[1:].expand(2, -1, -1)
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        e_c = src.unet(xt, ts, encoder_hidden_states=c_c)
        e_u = src.unet(xt, ts, encoder_hidden_states=c_u)
    expected = (e_u.sample.float() + 5.0 * (e_c.sample.float()
                                            - e_u.sample.float()) - eps)
    torch.testing.assert_close(score, expected, atol=0.05, rtol=0.05)


def test_csd_region_prompt_weights_mix_the_text_branch(distiller):
    src = distiller.score_source
    torch.manual_seed(2)
    lat = torch.randn(3, 4, 8, 8)
    eps = torch.randn_like(lat)
    nt = src.add_noise(lat + 0.2, eps, 200)
    ns = src.add_noise(lat, eps, 200)
    single = []
    for prompt in ('a dog', 'snow'):
        src.set_prompts(prompt, 'a cat')
        single.append(src(nt, 200, ns, lat))
    src.set_prompts(['a dog', 'snow'], 'a cat')
    w = torch.tensor([[1.0, 0.0], [0.25, 0.75], [0.0, 1.0]])
    mixed = src(nt, 200, ns, lat, prompt_weights=w)
    # the guided prediction is affine in the text branch, so mixing the
    # branch mixes the scores with the same weights
    expected = w[:, :1, None, None] * single[0] + w[:, 1:, None,
                                                    None] * single[1]
    torch.testing.assert_close(mixed, expected, atol=1e-5, rtol=1e-4)
    with pytest.raises(ConfigError, match='prompt_weights has shape'):
        src(nt, 200, ns, lat, prompt_weights=w[:, :1])
