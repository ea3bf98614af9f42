"""Frozen representation encoders: images in [0, 1] -> tokens (N, T, D)."""
