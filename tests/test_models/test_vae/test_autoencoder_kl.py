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
    with pytest.raises(CheckpointError, match='vae.pth.*another shape'):
        MODELS.build(dict(type='AutoencoderKL', pretrained=str(weights),
                          config=str(tmp_path / 'wrong.json')))


def _to_ldm_layout(sd, num_up):
    """diffusers AutoencoderKL keys -> the original LDM/SD layout
    (``vae-ft-mse-840000-ema-pruned.ckpt``), written out by hand."""
    import re
    out = {}
    for k, v in sd.items():
        k = re.sub(r'encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.',
                   r'encoder.down.\1.block.\2.', k)
        k = re.sub(r'encoder\.down_blocks\.(\d+)\.downsamplers\.0\.',
                   r'encoder.down.\1.downsample.', k)
        k = re.sub(r'decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.',
                   lambda m: f'decoder.up.{num_up - 1 - int(m[1])}.block.'
                   f'{m[2]}.', k)
        k = re.sub(r'decoder\.up_blocks\.(\d+)\.upsamplers\.0\.',
                   lambda m: f'decoder.up.{num_up - 1 - int(m[1])}.'
                   'upsample.', k)
        k = re.sub(r'mid_block\.resnets\.(\d+)\.',
                   lambda m: f'mid.block_{int(m[1]) + 1}.', k)
        attn = re.match(r'(encoder|decoder)\.mid_block\.attentions\.0\.'
                        r'(group_norm|to_q|to_k|to_v|to_out\.0)\.(.*)', k)
        if attn:
            name = dict(group_norm='norm', to_q='q', to_k='k', to_v='v')
            name['to_out.0'] = 'proj_out'
            k = f'{attn[1]}.mid.attn_1.{name[attn[2]]}.{attn[3]}'
            if attn[2] != 'group_norm' and v.dim() == 2:
                v = v[:, :, None, None]  # 1x1 convolutions in LDM
        k = k.replace('conv_shortcut', 'nin_shortcut').replace(
            'conv_norm_out', 'norm_out')
        out[k] = v
    return out


def test_single_file_original_ldm_layout(tiny_vae, tmp_path):
    ref, folder = tiny_vae
    ldm = _to_ldm_layout(ref.state_dict(), len(TINY['up_block_types']))
    assert 'encoder.down.0.block.0.conv1.weight' in ldm
    assert 'decoder.mid.attn_1.q.weight' in ldm
    path = tmp_path / 'vae-ft-tiny.ckpt'
    torch.save(dict(state_dict=ldm), path)
    vae = MODELS.build(dict(type='AutoencoderKL', pretrained=str(path),
                            config=str(folder)))
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        expected = ref.encode(x * 2 - 1).latent_dist.mean * 0.18215
        z = torch.randn(1, 4, 8, 8)
        dec = ((ref.decode(z / 0.18215).sample + 1) / 2).clamp(0, 1)
    torch.testing.assert_close(vae.encode(x, sample=False), expected)
    torch.testing.assert_close(vae.decode(z), dec)
    # a full SD checkpoint prefixes the VAE with first_stage_model.
    torch.save(dict(state_dict={f'first_stage_model.{k}': v
                                for k, v in ldm.items()}), path)
    vae = MODELS.build(dict(type='AutoencoderKL', pretrained=str(path),
                            config=str(folder)))
    torch.testing.assert_close(vae.encode(x, sample=False), expected)
