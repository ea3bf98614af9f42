"""Downsampled ImageNet 32x32 (CLEL)."""
from .imagenet32 import ImageNet32Dataset, load_imagenet32_batch

__all__ = ['ImageNet32Dataset', 'load_imagenet32_batch']
