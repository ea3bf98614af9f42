"""Stateless ODE/SDE samplers and guidance, registered in ``SAMPLERS``."""
from .ddpm_samplers import DDIMSampler, DDPMSampler, ddim_step, ddpm_step
from .flow_samplers import (ODESampler, SDESampler, euler_maruyama_step,
                            euler_step, heun_step)
from .guidance import guidance_active, guided_call
from .sgld import SGLDSampler, item_normal, item_uniform  # noqa: F401

__all__ = [
    'DDIMSampler', 'DDPMSampler', 'ODESampler', 'SDESampler', 'ddim_step',
    'ddpm_step', 'euler_maruyama_step', 'euler_step', 'heun_step',
    'guidance_active', 'guided_call'
]
