"""REPA-E end to end through tools/train.py: the tiny digits config trains
SiT and a tiny diffusers AutoencoderKL together, and the checkpoint holds
the tuned VAE (the E2E-VAE) beside the latent BN statistics."""
import os.path as osp

import numpy as np
import pytest
import torch
from diffusers import AutoencoderKL as DiffusersVAE

CONFIG = 'configs/repa_e/sit-tiny_repae_digits.py'


def tiny_vae(folder):
    torch.manual_seed(0)
    DiffusersVAE(in_channels=1, out_channels=1, block_out_channels=(8, 16),
                 layers_per_block=1, norm_num_groups=4, latent_channels=4,
                 sample_size=16,
                 down_block_types=('DownEncoderBlock2D', ) * 2,
                 up_block_types=('UpDecoderBlock2D', ) * 2).save_pretrained(
                     folder)
    return DiffusersVAE.from_pretrained(folder)


@pytest.mark.slow
def test_train_tunes_the_vae(tool, tmp_path):
    folder = str(tmp_path / 'vae')
    initial = tiny_vae(folder).state_dict()
    work = str(tmp_path / 'work')
    opts = [f'model.vae.pretrained={folder}', 'model.backbone.arch.depth=2']
    res = tool([
        'tools/train.py', CONFIG, '--work-dir', work, '--cfg-options'
    ] + opts + [
        'train_cfg.max_iters=2',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1', 'model.aligners.0.depth=1',
        'model.aligners.0.encoders.0.checkpoint=None',
        'custom_hooks.2.encoder.checkpoint=None',
        'custom_hooks.2.num_samples=8', 'custom_hooks.2.grid_rows=1',
        'custom_hooks.2.sampler.num_steps=2',
        'custom_hooks.2.grid_sampler.num_steps=2',
        'train_dataloader.batch_size=4'
    ])
    assert res.returncode == 0, res.stderr[-3000:]
    log = res.stdout + res.stderr
    for key in ('loss_denoise', 'loss_repa', 'loss_vae_align',
                'loss_vae_rec', 'loss_vae_kl'):
        assert key in log, key
    ckpt = torch.load(osp.join(work, 'iter_2.pth'), map_location='cpu',
                      weights_only=False)
    # 'state_dict' is the EMA copy (EMAHook swaps it in), which follows the
    # trained weights and buffers
    state = ckpt['state_dict']
    # the VAE was trained: its encoder moved from the saved weights
    enc = 'encoder.conv_in.weight'
    assert not torch.equal(state[f'autoencoder.vae.{enc}'], initial[enc])
    # the latent BN's running statistics moved from (0, 1)
    assert state['latent_norm.num_batches_tracked'].item() >= 1
    assert not torch.equal(state['latent_norm.running_mean'],
                           torch.zeros(4))
    assert not torch.equal(state['latent_norm.running_var'], torch.ones(4))

    # tools/sample.py: the model without aligners, the tuned VAE and BN
    # statistics from the checkpoint, decoded to 16 x 16 grey digits
    out = str(tmp_path / 'samples')
    res = tool(['tools/sample.py', CONFIG, osp.join(work, 'iter_2.pth'),
                '--out', out, '--num-samples', '4', '--batch-size', '4',
                '--sampler', 'ode', '--num-steps', '2', '--cfg-options'] +
               opts)
    assert res.returncode == 0, res.stderr[-3000:]
    with np.load(osp.join(out, 'samples.npz')) as d:
        imgs = d['arr_0']
    assert imgs.shape[:3] == (4, 16, 16) and imgs.dtype == np.uint8
