# stabilityai/sd-vae-ft-ema (REPA's generate.py decodes with it by default).
vae = dict(type='AutoencoderKL', pretrained='checkpoints/sd-vae-ft-ema')
