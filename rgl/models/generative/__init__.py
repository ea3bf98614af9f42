"""Generative algorithms: flow matching (SiT) and DDPM (DiT)."""
