"""One-shot denoisers ``denoise(x_noisy, sigma) -> x_hat``."""
from .adm import ADMDenoiser, load_adm_checkpoint
from .adm_unet import ADM_ARCHS, ADMUNet
from .base import (DiscreteDiffusionDenoiser, OneShotDenoiser,
                   check_denoise_sigma)
from .diffusers_unet import DiffusersDenoiser
from .finetuner import DenoiserFinetuner, calibration_losses
from .rgl_generative import (DDPMDenoiser, FlowMatchingDenoiser,
                             build_generative)
from .schedules import (cosine_betas, ddpm_input_scale, flow_input_scale,
                        flow_match_time, make_betas, match_timestep,
                        noise_to_signal)

__all__ = [
    'ADMDenoiser', 'load_adm_checkpoint', 'ADM_ARCHS', 'ADMUNet',
    'OneShotDenoiser', 'DiscreteDiffusionDenoiser', 'check_denoise_sigma',
    'DiffusersDenoiser', 'DenoiserFinetuner', 'calibration_losses',
    'DDPMDenoiser', 'FlowMatchingDenoiser',
    'build_generative', 'cosine_betas', 'make_betas', 'noise_to_signal',
    'match_timestep', 'ddpm_input_scale', 'flow_match_time',
    'flow_input_scale'
]
