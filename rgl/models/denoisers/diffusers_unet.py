"""One-shot denoising with a diffusers ``UNet2DModel`` and its scheduler,
both read from a local folder (never a hub)."""
import json
import os.path as osp


from rgl.registry import MODELS
from rgl.utils.errors import CheckpointError, ConfigError
from .base import DiscreteDiffusionDenoiser


def _find(folder, subfolder, filename, default_sub):
    """The subfolder of ``folder`` that holds ``filename`` ('' for the top
    level), trying the explicit one, then ``default_sub``, then the top."""
    candidates = [subfolder] if subfolder is not None else [default_sub, '']
    for sub in candidates:
        if osp.isfile(osp.join(folder, sub, filename)):
            return sub
    raise CheckpointError(
        f'{folder}: no {filename} in '
        f'{" or ".join(repr(c or ".") for c in candidates)} (save the '
        'pipeline or model with save_pretrained)')


@MODELS.register_module()
class DiffusersDenoiser(DiscreteDiffusionDenoiser):
    """DDS with a diffusers ``UNet2DModel`` + DDPM-type scheduler.

    Args:
        pretrained (str): a local folder written by ``save_pretrained``:
            a pipeline (``unet/`` and ``scheduler/`` subfolders, e.g.
            ``DDPMPipeline``) or a flat folder with the UNet's
            ``config.json`` and ``scheduler_config.json``.
        unet_subfolder, scheduler_subfolder (str, optional): override the
            subfolders.
        **kwargs: ``multistep``, ``clip_denoised``, ``autocast``,
            ``channels_last``, ``max_batch``, ``seed``.

    The scheduler's β, ``prediction_type`` (ε, sample or v) and
    ``variance_type`` (``learned*``: the second C output channels) are
    used; the UNet takes integer steps.
    """

    def __init__(self, pretrained, unet_subfolder=None,
                 scheduler_subfolder=None, **kwargs):
        import diffusers
        if not isinstance(pretrained, str) or not osp.isdir(pretrained):
            raise ConfigError(f'denoiser.pretrained must be a local folder, '
                              f'got {pretrained!r}')
        sched_sub = _find(pretrained, scheduler_subfolder,
                          'scheduler_config.json', 'scheduler')
        with open(osp.join(pretrained, sched_sub,
                           'scheduler_config.json')) as f:
            class_name = json.load(f).get('_class_name', 'DDPMScheduler')
        sched_cls = getattr(diffusers, class_name, None)
        if sched_cls is None:
            raise ConfigError(f'{pretrained}: unknown scheduler class '
                              f'{class_name!r}')
        scheduler = sched_cls.from_pretrained(
            pretrained, subfolder=sched_sub or None, local_files_only=True)
        if not hasattr(scheduler, 'betas'):
            raise ConfigError(f'{pretrained}: scheduler {class_name} has no '
                              'discrete betas (a DDPM-type schedule is '
                              'required)')
        prediction = scheduler.config.get('prediction_type', 'epsilon')
        super().__init__(scheduler.betas.double().numpy(),
                         prediction_type=prediction, **kwargs)
        unet_sub = _find(pretrained, unet_subfolder, 'config.json', 'unet')
        self.unet = diffusers.UNet2DModel.from_pretrained(
            pretrained, subfolder=unet_sub or None, local_files_only=True)
        self.unet.eval().requires_grad_(False)
        self.scheduler_config = dict(scheduler.config)
        size = self.unet.config.sample_size
        self.output_size = size if isinstance(size, int) else None
        self.size_multiple = 2**(len(self.unet.config.block_out_channels) -
                                 1)

    @property
    def network(self):
        return self.unet

    def model_output(self, x_t, t):
        return self.unet(x_t, t).sample
