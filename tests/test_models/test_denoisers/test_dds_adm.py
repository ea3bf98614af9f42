"""ADM UNet: the released key layouts, numerical parity with the official
implementations, strict loading through the denoiser."""
import json
import math
import os.path as osp

import pytest
import torch

from rgl.models.denoisers import (ADM_ARCHS, ADMDenoiser, ADMUNet,
                                  match_timestep)
from rgl.utils.errors import CheckpointError, ConfigError

DATA = osp.join(osp.dirname(__file__), 'data')
# key -> shape of state dicts written by the official unet.py
# (improved-diffusion @ openai/improved-diffusion, guided-diffusion @
# openai/guided-diffusion), and their outputs on the weights and inputs
# below for three tiny configurations.
LAYOUT = json.load(open(osp.join(DATA, 'adm_official_layout.json')))
GOLDEN = torch.load(osp.join(DATA, 'adm_official_outputs.pt'))

TINY = {
    # improved-diffusion: legacy attention, 2 heads, scale-shift norm
    'improved': dict(kw=dict(image_size=8, model_channels=32,
                             num_res_blocks=1, attention_resolutions=(4, ),
                             channel_mult=(1, 2), num_heads=2,
                             learn_sigma=True, use_scale_shift_norm=True),
                     t=[3.0, 700.5], size=8, seed=1),
    # guided-diffusion: BigGAN up/down blocks, 16 channels per head
    'guided': dict(kw=dict(image_size=16, model_channels=32,
                           num_res_blocks=1, attention_resolutions='8,4',
                           channel_mult=(1, 1, 2), num_head_channels=16,
                           use_scale_shift_norm=True, resblock_updown=True),
                   t=[5, 999], size=16, seed=3),
}
TINY['guided_new'] = dict(TINY['guided'], kw=dict(
    TINY['guided']['kw'], use_new_attention_order=True))


def official_random_state(name, seed):
    """Random weights in the official key order and shapes."""
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(shape, generator=g) * 0.1
            for k, shape in LAYOUT[name].items()}


@pytest.mark.parametrize('arch', sorted(ADM_ARCHS))
def test_released_architectures_have_the_official_layout(arch):
    with torch.device('meta'):
        unet = ADMUNet(arch=arch)
    got = {k: list(v.shape) for k, v in unet.state_dict().items()}
    assert list(got) == list(LAYOUT[arch])  # same names, same order
    assert got == LAYOUT[arch]


@pytest.mark.parametrize('name', ['improved', 'guided', 'guided_new'])
def test_outputs_match_the_official_implementation(name, tmp_path):
    spec = TINY[name]
    path = tmp_path / f'{name}.pt'
    torch.save(official_random_state(name, 0 if name == 'improved' else 2),
               path)  # a plain state dict, as the released files
    den = ADMDenoiser(unet=dict(type='ADMUNet', **spec['kw']),
                      checkpoint=str(path))
    x = torch.randn(2, 3, spec['size'], spec['size'],
                    generator=torch.Generator().manual_seed(spec['seed']))
    with torch.no_grad():
        out = den.unet(x, torch.tensor(spec['t']))
    channels = 6 if spec['kw'].get('learn_sigma') else 3
    assert out.shape == (2, channels, spec['size'], spec['size'])
    # the legacy and the new head order read different qkv channels
    torch.testing.assert_close(out, GOLDEN[name], atol=2e-5, rtol=1e-4)


def test_one_shot_denoise_with_rescaled_timesteps(tmp_path):
    spec = TINY['improved']
    path = tmp_path / 'i.pt'
    torch.save(official_random_state('improved', 0), path)
    den = ADMDenoiser(unet=dict(type='ADMUNet', **spec['kw']),
                      checkpoint=str(path), num_timesteps=4000,
                      noise_schedule='cosine', rescale_timesteps=True)
    x = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    sigma = 0.5
    a = den.alphas_cumprod
    t = match_timestep(a, 1.0)
    assert t == 1984
    x_t = math.sqrt(a[t]) * (2 * x - 1)
    with torch.no_grad():  # iDDPM feeds t·1000/T
        eps = den.unet(x_t, torch.full((2, ), t * 1000 / 4000))[:, :3]
    x0 = (x_t - math.sqrt(1 - a[t]) * eps) / math.sqrt(a[t])
    torch.testing.assert_close(den.denoise(x, sigma),
                               (x0.clamp(-1, 1) + 1) / 2, atol=1e-5,
                               rtol=1e-5)


def test_strict_load_names_the_first_missing_key(tmp_path):
    spec = TINY['guided']
    state = official_random_state('guided', 2)
    first = 'middle_block.1.qkv.weight'
    state.pop(first)
    state.pop('out.2.bias')
    path = tmp_path / 'bad.pt'
    torch.save(state, path)
    with pytest.raises(CheckpointError) as err:
        ADMDenoiser(unet=dict(type='ADMUNet', **spec['kw']),
                    checkpoint=str(path))
    assert repr(first) in str(err.value) and str(path) in str(err.value)
    # the other head order is a different config: the keys do not tell
    # them apart, but another width does
    torch.save(official_random_state('improved', 0), path)
    with pytest.raises(CheckpointError, match='bad.pt'):
        ADMDenoiser(unet=dict(type='ADMUNet', **spec['kw']),
                    checkpoint=str(path))


def test_bad_inputs_name_the_key():
    unet = dict(type='ADMUNet', **TINY['improved']['kw'])
    den = ADMDenoiser(unet=unet, num_timesteps=100)
    with pytest.raises(ConfigError, match='sigma'):
        den.denoise(torch.rand(1, 3, 8, 8), 1000.0)
    from rgl.utils.errors import DataError
    with pytest.raises(DataError, match='multiples of 2'):
        den.denoise(torch.rand(1, 3, 9, 9), 0.25)
    # a convolutional UNet takes other sizes (DDS feeds 224² crops to the
    # 256² ImageNet model)
    assert den.denoise(torch.rand(1, 3, 12, 12), 0.25).shape[-1] == 12
    with pytest.raises(ConfigError, match='unet.arch'):
        ADMUNet(arch='nope')
    with pytest.raises(ConfigError, match='label'):
        ADMDenoiser(unet=dict(unet, num_classes=10))
