# stabilityai/sd-vae-ft-mse (REPA's training latents): a local diffusers
# folder.
vae = dict(type='AutoencoderKL', pretrained='checkpoints/sd-vae-ft-mse')
