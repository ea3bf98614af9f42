"""Downsampled ImageNet 32x32 (CLEL)."""
