# guided-diffusion's unconditional ImageNet 256x256 model (linear schedule,
# T = 1000, learned Σ, 553M parameters), as DDS uses it:
# https://openaipublic.blob.core.windows.net/diffusion/jul-2021/256x256_diffusion_uncond.pt
denoiser = dict(
    type='ADMDenoiser',
    unet=dict(type='ADMUNet', arch='guided-diffusion-256-uncond'),
    checkpoint='checkpoints/256x256_diffusion_uncond.pt',
    num_timesteps=1000,
    noise_schedule='linear',
    rescale_timesteps=False,
    multistep=False,
    autocast='fp16')  # the official --use_fp16 True; 'bf16' on CPUs
