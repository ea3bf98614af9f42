"""Latent autoencoders (diffusers AutoencoderKL) for latent diffusion."""
