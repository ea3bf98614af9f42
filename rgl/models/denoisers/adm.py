"""One-shot denoising with the released ADM checkpoints (improved- and
guided-diffusion), as in "(Certified!!) Adversarial Robustness for Free!"
(Carlini et al. 2023)."""
import torch

from rgl.registry import MODELS
from rgl.utils.checkpoint import load_state_dict_file
from rgl.utils.errors import CheckpointError, ConfigError
from .adm_unet import ADMUNet
from .base import DiscreteDiffusionDenoiser
from .schedules import make_betas


def load_adm_checkpoint(unet, path, prefix=''):
    """Load an official ADM state dict into ``unet`` strictly (the keys
    under ``prefix`` when set, e.g. ``'denoiser.unet.'`` after
    ``DenoiserFinetuner``).

    Raises:
        CheckpointError: naming the file and the first missing key (then
            the first unexpected key, then the first shape mismatch).
    """
    state = load_state_dict_file(path)
    if not isinstance(state, dict):
        raise CheckpointError(f'{path}: expected a state dict')
    state = {k[len('module.'):] if k.startswith('module.') else k: v
             for k, v in state.items()}
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items()
                 if k.startswith(prefix)}
    own = unet.state_dict()
    missing = [k for k in own if k not in state]
    if missing:
        raise CheckpointError(
            f'{path} does not match the configured ADM UNet (denoiser.unet):'
            f' first missing key {missing[0]!r} ({len(missing)} missing)')
    unexpected = [k for k in state if k not in own]
    if unexpected:
        raise CheckpointError(
            f'{path} does not match the configured ADM UNet (denoiser.unet):'
            f' first unexpected key {unexpected[0]!r} ({len(unexpected)} '
            'unexpected)')
    for k, v in own.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise CheckpointError(
                f'{path}: {k!r} has shape {tuple(state[k].shape)}, the '
                f'configured ADM UNet (denoiser.unet) expects '
                f'{tuple(v.shape)}')
    unet.load_state_dict(state, strict=True)
    return unet


@MODELS.register_module()
class ADMDenoiser(DiscreteDiffusionDenoiser):
    """DDS one-shot denoiser on an ADM UNet from a local checkpoint.

    Args:
        unet (dict | str | nn.Module): ``dict(type='ADMUNet', ...)``, or an
            arch name of ``ADM_ARCHS`` (e.g.
            ``'improved-diffusion-cifar10-uncond'``).
        checkpoint (str, optional): the official ``.pt`` (a plain state
            dict), loaded strictly through rgl's safe loader.
        num_timesteps (int): T of the training schedule (4000 for
            ``cifar10_uncond_50M_500K.pt``, 1000 for
            ``256x256_diffusion_uncond.pt``).
        noise_schedule (str): ``'cosine'`` or ``'linear'``.
        rescale_timesteps (bool): feed ``t · 1000 / T`` to the network
            (improved-diffusion's default, used by the CIFAR-10 model).
        label (int, optional): class for class-conditional UNets.
        checkpoint_prefix (str): keys of the UNet inside the checkpoint,
            e.g. ``'denoiser.unet.'`` after ``DenoiserFinetuner``.
        **kwargs: ``multistep``, ``clip_denoised``, ``autocast``,
            ``channels_last``, ``max_batch``, ``seed``.
    """

    def __init__(self, unet, checkpoint=None, num_timesteps=1000,
                 noise_schedule='linear', rescale_timesteps=False,
                 label=None, checkpoint_prefix='', **kwargs):
        super().__init__(make_betas(noise_schedule, num_timesteps),
                         **kwargs)
        if isinstance(unet, str):
            unet = dict(type='ADMUNet', arch=unet)
        self.unet = unet if isinstance(unet, torch.nn.Module) else \
            MODELS.build(unet)
        if not isinstance(self.unet, ADMUNet):
            raise ConfigError(f'denoiser.unet must be an ADMUNet, got '
                              f'{type(self.unet).__name__}')
        if checkpoint is not None:
            load_adm_checkpoint(self.unet, checkpoint, checkpoint_prefix)
        self.unet.eval().requires_grad_(False)
        self.output_size = self.unet.image_size
        self.size_multiple = 2**(len(self.unet.channel_mult) - 1)
        self.rescale_timesteps = rescale_timesteps
        if (label is None) != (self.unet.num_classes is None):
            raise ConfigError('denoiser.label must be set exactly when the '
                              'UNet is class-conditional (unet.num_classes)')
        self.label = label

    @property
    def network(self):
        return self.unet

    def model_output(self, x_t, t):
        steps = t.float() * (1000.0 / self.num_timesteps) \
            if self.rescale_timesteps else t
        y = None if self.label is None else torch.full_like(t, self.label)
        return self.unet(x_t, steps, y)
