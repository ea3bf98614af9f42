"""Batched "strong" SimCLR augmentation on the device (no per-image loop).

Random resized crop (by one ``affine_grid``), horizontal flip, colour
jitter (brightness, contrast, saturation; applied with probability
``jitter_p``) and random greyscale, as CLEL uses for its buffer samples
and the guide's views. Hue jitter is left out (it needs an HSV round trip).
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from rgl.registry import MODELS


def _u(n, lo, hi, like, generator=None):
    r = torch.rand(n, generator=generator, device=like.device,
                   dtype=like.dtype)
    return lo + (hi - lo) * r


@MODELS.register_module()
class StrongAugment(nn.Module):
    """SimCLR-style augmentation of images (N, C, H, W) in [0, 1].

    Args:
        crop_scale (tuple): range of the crop's area fraction.
        ratio (tuple): range of the crop's aspect ratio.
        flip (bool): random horizontal flip (off for digits).
        jitter (tuple): brightness, contrast, saturation strengths.
        jitter_p (float): probability of the colour jitter.
        gray_p (float): probability of greyscale.
    """

    def __init__(self, crop_scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3),
                 flip=True, jitter=(0.4, 0.4, 0.4), jitter_p=0.8,
                 gray_p=0.2):
        super().__init__()
        self.crop_scale, self.ratio = tuple(crop_scale), tuple(ratio)
        self.flip, self.jitter = flip, tuple(jitter)
        self.jitter_p, self.gray_p = jitter_p, gray_p

    def forward(self, x, generator=None):
        n = x.shape[0]
        # random resized crop: scale s of the area, aspect ratio r
        s = _u(n, *self.crop_scale, x, generator)
        logr = _u(n, math.log(self.ratio[0]), math.log(self.ratio[1]), x,
                  generator)
        w = torch.sqrt(s * logr.exp()).clamp(max=1)
        h = torch.sqrt(s / logr.exp()).clamp(max=1)
        cx = (2 * _u(n, 0, 1, x, generator) - 1) * (1 - w)
        cy = (2 * _u(n, 0, 1, x, generator) - 1) * (1 - h)
        sign = torch.ones_like(w)
        if self.flip:
            sign = torch.where(_u(n, 0, 1, x, generator) < 0.5, -sign, sign)
        theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
        theta[:, 0, 0], theta[:, 0, 2] = w * sign, cx
        theta[:, 1, 1], theta[:, 1, 2] = h, cy
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode='bilinear', padding_mode='reflection',
                          align_corners=False)
        if x.shape[1] == 3:
            x = self._colour(x, generator)
        return x.clamp(0, 1)

    def _colour(self, x, generator):
        n = x.shape[0]
        view = (n, 1, 1, 1)
        b, c, s = self.jitter
        on = (_u(n, 0, 1, x, generator) < self.jitter_p).view(view)
        y = x * _u(n, 1 - b, 1 + b, x, generator).view(view)
        mean = _grey(y).mean(dim=(1, 2, 3), keepdim=True)
        y = (y - mean) * _u(n, 1 - c, 1 + c, x, generator).view(view) + mean
        g = _grey(y)
        y = (y - g) * _u(n, 1 - s, 1 + s, x, generator).view(view) + g
        x = torch.where(on, y.clamp(0, 1), x)
        gray = (_u(n, 0, 1, x, generator) < self.gray_p).view(view)
        return torch.where(gray, _grey(x).expand_as(x), x)


def _grey(x):
    w = x.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)
