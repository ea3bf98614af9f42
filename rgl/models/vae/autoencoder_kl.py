"""Stable Diffusion's KL autoencoder (diffusers) for latent diffusion."""
import json
import os
import os.path as osp

import torch
from torch import nn

from rgl.registry import MODELS
from rgl.utils import load_state_dict_file
from rgl.utils.errors import CheckpointError, ConfigError
from ..encoders.base import check_state_dict

#: ``stabilityai/sd-vae-ft-mse`` / ``sd-vae-ft-ema`` architecture (their
#: config.json), used when a single weights file comes without a config.
SD_VAE_CONFIG = dict(
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2,
    block_out_channels=[128, 256, 512, 512], norm_num_groups=32,
    act_fn='silu', sample_size=256, scaling_factor=0.18215,
    down_block_types=['DownEncoderBlock2D'] * 4,
    up_block_types=['UpDecoderBlock2D'] * 4)


def _read_config(config):
    if config is None:
        return dict(SD_VAE_CONFIG)
    if isinstance(config, str):
        path = osp.join(config, 'config.json') if osp.isdir(config) \
            else config
        if not osp.isfile(path):
            raise ConfigError(f'AutoencoderKL.config: no file {path}')
        with open(path) as f:
            config = json.load(f)
    return {k: v for k, v in dict(config).items() if not k.startswith('_')}


def _load_weights_file(path):
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        try:
            return load_file(path)
        except Exception as err:  # safetensors raises its own errors
            raise CheckpointError(f'{path}: unreadable safetensors file '
                                  f'({err})') from None
    return load_state_dict_file(path)


@MODELS.register_module()
class AutoencoderKL(nn.Module):
    """Diffusers ``AutoencoderKL`` (SD-VAE, Rombach et al., 2022), frozen
    unless ``trainable``:
    x in [0, 1] -> latents z = s · (μ + σ ε) with s = 0.18215, and back.

    REPA trains on latents of ``sd-vae-ft-mse`` and decodes samples with
    ``sd-vae-ft-ema``: both are this class with a different local folder.

    Args:
        pretrained (str): a local diffusers folder (``config.json`` +
            ``diffusion_pytorch_model.safetensors|.bin``; a pipeline folder
            with ``subfolder='vae'`` works too), or a single weights file
            (.safetensors/.pth/.bin/.ckpt) in diffusers' layout or the
            original LDM layout (``encoder.down.0...``, converted).
        config (str | dict, optional): architecture for a single file
            (a config.json, its folder, or a dict); default: SD-VAE's.
        subfolder (str, optional): e.g. ``'vae'`` inside a pipeline folder.
        scaling_factor (float, optional): s; default the config's, else
            0.18215. ``shift_factor`` b gives z = s · (x − b) (0 for SD).
        trainable (bool): ``False`` (default): frozen, always in eval mode.
            ``True``: the weights are trained (REPA-E's end-to-end tuning);
            :meth:`posterior` and :meth:`decode_raw` then keep the graph,
            while :meth:`encode` and :meth:`decode` stay inference calls.
    """

    def __init__(self, pretrained, config=None, subfolder=None,
                 scaling_factor=None, shift_factor=None, trainable=False):
        super().__init__()
        from diffusers import AutoencoderKL as DiffusersAutoencoderKL
        if not isinstance(pretrained, (str, os.PathLike)) or not osp.exists(
                pretrained):
            raise ConfigError(f'AutoencoderKL.pretrained: no local folder or '
                              f'file {pretrained!r} (nothing is downloaded)')
        pretrained = os.fspath(pretrained)
        if osp.isdir(pretrained):
            try:
                self.vae = DiffusersAutoencoderKL.from_pretrained(
                    pretrained, subfolder=subfolder, local_files_only=True)
            except (OSError, EnvironmentError, ValueError) as err:
                raise CheckpointError(
                    f'{pretrained}: not a diffusers AutoencoderKL folder '
                    f'({str(err).splitlines()[0]})') from None
        else:
            cfg = _read_config(config)
            self.vae = DiffusersAutoencoderKL.from_config(cfg)
            sd = _load_weights_file(pretrained)
            if any('encoder.down.' in k for k in sd):  # LDM (+ prefix)
                from diffusers.loaders.single_file_utils import \
                    convert_ldm_vae_checkpoint
                sd = convert_ldm_vae_checkpoint(sd, dict(self.vae.config))
            check_state_dict(self.vae, sd, pretrained, 'AutoencoderKL')
        cfg = self.vae.config
        self.scaling_factor = float(scaling_factor or getattr(
            cfg, 'scaling_factor', None) or 0.18215)
        self.shift_factor = float(shift_factor or getattr(
            cfg, 'shift_factor', None) or 0.0)
        self.latent_channels = int(cfg.latent_channels)
        self.downsample = 2**(len(cfg.block_out_channels) - 1)
        self.trainable = bool(trainable)
        self.vae.requires_grad_(self.trainable)
        self.train(self.trainable)

    def train(self, mode=True):
        return super().train(mode and self.trainable)  # frozen: always eval

    def posterior(self, x):
        """q(z|x) for x in [0, 1]: diffusers' ``DiagonalGaussianDistribution``
        (``.mean``, ``.std``, ``.sample()``, ``.kl()``) of unscaled latents;
        differentiable when ``trainable``."""
        with torch.set_grad_enabled(self.trainable
                                    and torch.is_grad_enabled()):
            return self.vae.encode(x.float() * 2 - 1).latent_dist

    def decode_raw(self, z):
        """Unscaled latents z -> reconstructions in [−1, 1] (not clamped);
        differentiable when ``trainable``."""
        with torch.set_grad_enabled(self.trainable
                                    and torch.is_grad_enabled()):
            return self.vae.decode(z).sample

    @torch.no_grad()
    def encode_moments(self, x):
        """(μ, σ) of the posterior q(z|x) for x in [0, 1], unscaled,
        each (N, C_z, H/f, W/f)."""
        if not self.trainable:
            self.eval()
        dist = self.vae.encode(x.float() * 2 - 1).latent_dist
        return dist.mean, dist.std

    def scale(self, z):
        """Raw latents -> the diffusion model's latents s · (z − b)."""
        return (z - self.shift_factor) * self.scaling_factor

    def unscale(self, z):
        return z / self.scaling_factor + self.shift_factor

    @torch.no_grad()
    def encode(self, x, sample=True, generator=None):
        """x in [0, 1] -> s · z with z ~ N(μ, σ²) (or z = μ)."""
        mean, std = self.encode_moments(x)
        z = mean
        if sample:
            z = mean + std * torch.randn(mean.shape, generator=generator,
                                         device=mean.device,
                                         dtype=mean.dtype)
        return self.scale(z)

    @torch.no_grad()
    def decode(self, z):
        """Scaled latents -> images in [0, 1]."""
        if not self.trainable:
            self.eval()
        x = self.vae.decode(self.unscale(z)).sample
        return ((x + 1) / 2).clamp_(0, 1)

    def forward(self, x):
        return self.encode(x)
