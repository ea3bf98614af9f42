"""AutoencoderKL from a local diffusers folder or a single weights file."""
import json

import pytest
import torch
from diffusers import AutoencoderKL as DiffusersVAE

from rgl.registry import MODELS
from rgl.utils.errors import CheckpointError, ConfigError

TINY = dict(block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=4,
            latent_channels=4, sample_size=16,
            down_block_types=('DownEncoderBlock2D', ) * 2,
            up_block_types=('UpDecoderBlock2D', ) * 2)


@pytest.fixture(scope='module')
def tiny_vae(tmp_path_factory):
    torch.manual_seed(0)
    vae = DiffusersVAE(**TINY).eval()
    folder = tmp_path_factory.mktemp('vae') / 'sd-vae-tiny'
    vae.save_pretrained(folder)
    return vae, folder


def test_folder_encode_decode_match_diffusers(tiny_vae):
    ref, folder = tiny_vae
    vae = MODELS.build(dict(type='AutoencoderKL', pretrained=str(folder)))
    assert vae.scaling_factor == pytest.approx(0.18215)
    assert vae.downsample == 2 and vae.latent_channels == 4
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        dist = ref.encode(x * 2 - 1).latent_dist
    mean, std = vae.encode_moments(x)
    torch.testing.assert_close(mean, dist.mean)
    torch.testing.assert_close(std, dist.std)
    assert vae.encode(x, sample=False).shape == (2, 4, 8, 8)
    torch.testing.assert_close(vae.encode(x, sample=False),
                               dist.mean * 0.18215)
    # sampling draws mu + sigma * eps with the given generator
    g = torch.Generator().manual_seed(3)
    eps = torch.randn(mean.shape, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(vae.encode(x, generator=g),
                               (dist.mean + dist.std * eps) * 0.18215)
    z = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        expected = ((ref.decode(z / 0.18215).sample + 1) / 2).clamp(0, 1)
    out = vae.decode(z)
    torch.testing.assert_close(out, expected)
    assert out.min() >= 0 and out.max() <= 1


def test_single_file_with_config(tiny_vae, tmp_path):
    ref, folder = tiny_vae
    weights = tmp_path / 'vae.pth'
    torch.save(ref.state_dict(), weights)
    vae = MODELS.build(dict(type='AutoencoderKL', pretrained=str(weights),
                            config=str(folder / 'config.json'),
                            scaling_factor=0.5))
    x = torch.rand(1, 3, 16, 16)
    torch.testing.assert_close(vae.encode(x, sample=False),
                               ref.encode(x * 2 - 1).latent_dist.mean * 0.5)


def test_bad_inputs(tiny_vae, tmp_path):
    ref, folder = tiny_vae
    with pytest.raises(ConfigError, match='nothing is downloaded'):
        MODELS.build(dict(type='AutoencoderKL',
                          pretrained='stabilityai/sd-vae-ft-mse'))
    cfg = json.loads((folder / 'config.json').read_text())
    cfg['latent_channels'] = 8
    (tmp_path / 'wrong.json').write_text(json.dumps(cfg))
    weights = tmp_path / 'vae.pth'
    torch.save(ref.state_dict(), weights)
    with pytest.raises(CheckpointError, match='vae.pth.*shape mismatch'):
        MODELS.build(dict(type='AutoencoderKL', pretrained=str(weights),
                          config=str(tmp_path / 'wrong.json')))
