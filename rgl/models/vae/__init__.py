"""Latent autoencoders (diffusers AutoencoderKL) for latent diffusion."""
from .autoencoder_kl import SD_VAE_CONFIG, AutoencoderKL

__all__ = ['AutoencoderKL', 'SD_VAE_CONFIG']
