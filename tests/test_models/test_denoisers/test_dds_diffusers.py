"""diffusers UNet2DModel + scheduler from a saved local folder."""
import math

import pytest
import torch

from rgl.registry import MODELS
from rgl.utils.errors import CheckpointError, ConfigError


def tiny_unet(out_channels=3):
    from diffusers import UNet2DModel
    torch.manual_seed(0)
    unet = UNet2DModel(sample_size=8, in_channels=3, out_channels=out_channels,
                       layers_per_block=1, block_out_channels=(16, 16),
                       down_block_types=('DownBlock2D', 'AttnDownBlock2D'),
                       up_block_types=('AttnUpBlock2D', 'UpBlock2D'),
                       norm_num_groups=8)
    with torch.no_grad():  # a non-trivial output
        unet.conv_out.weight.normal_(0, 0.1)
    return unet.eval()


@pytest.mark.parametrize('layout', ['pipeline', 'flat'])
@pytest.mark.parametrize('prediction,variance', [
    ('epsilon', 'fixed_small'), ('v_prediction', 'fixed_small'),
    ('epsilon', 'learned_range')])
def test_saved_folder_denoises_like_the_formula(tmp_path, layout,
                                                prediction, variance):
    from diffusers import DDPMPipeline, DDPMScheduler
    learned = variance.startswith('learned')
    unet = tiny_unet(6 if learned else 3)
    sched = DDPMScheduler(num_train_timesteps=200,
                          beta_schedule='squaredcos_cap_v2',
                          prediction_type=prediction, variance_type=variance)
    if layout == 'pipeline':
        DDPMPipeline(unet=unet, scheduler=sched).save_pretrained(tmp_path)
    else:
        unet.save_pretrained(tmp_path)
        sched.save_pretrained(tmp_path)
    den = MODELS.build(dict(type='DiffusersDenoiser',
                            pretrained=str(tmp_path)))
    assert den.output_size == 8
    x = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    a = sched.alphas_cumprod.double()
    sp = 2 * 0.25
    t = int(torch.nonzero(((1 - a) / a).sqrt() >= sp)[0])
    x_t = (math.sqrt(a[t]) * (2 * x - 1)).float()
    with torch.no_grad():
        out = unet(x_t, torch.tensor([t, t])).sample[:, :3]
    if prediction == 'epsilon':
        x0 = (x_t - math.sqrt(1 - a[t]) * out) / math.sqrt(a[t])
    else:
        x0 = math.sqrt(a[t]) * x_t - math.sqrt(1 - a[t]) * out
    torch.testing.assert_close(den.denoise(x, 0.25),
                               (x0.clamp(-1, 1) + 1) / 2, atol=1e-5,
                               rtol=1e-4)


def test_missing_folder_or_files(tmp_path):
    with pytest.raises(ConfigError, match='pretrained'):
        MODELS.build(dict(type='DiffusersDenoiser',
                          pretrained=str(tmp_path / 'nope')))
    with pytest.raises(CheckpointError, match='scheduler_config.json'):
        MODELS.build(dict(type='DiffusersDenoiser',
                          pretrained=str(tmp_path)))
