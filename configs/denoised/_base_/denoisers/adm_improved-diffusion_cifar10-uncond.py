# improved-diffusion's unconditional CIFAR-10 model (L_hybrid, cosine
# schedule, T = 4000, learned Σ, 52.5M parameters), as DDS uses it:
# https://openaipublic.blob.core.windows.net/diffusion/march-2021/cifar10_uncond_50M_500K.pt
# (download it yourself; rgl never reaches the network).
denoiser = dict(
    type='ADMDenoiser',
    unet=dict(type='ADMUNet', arch='improved-diffusion-cifar10-uncond'),
    checkpoint='checkpoints/cifar10_uncond_50M_500K.pt',
    num_timesteps=4000,
    noise_schedule='cosine',
    rescale_timesteps=True,  # iDDPM feeds t·1000/T to the UNet
    multistep=False)
