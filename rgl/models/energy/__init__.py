"""CLEL: energy backbones, heads and the latent-guided joint energy."""
