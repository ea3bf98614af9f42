"""A cheap FID-like score in any rgl encoder's feature space.

For the small recipes (digits), an Inception trained on ImageNet is the
wrong yardstick and slow on CPU: the Fréchet distance between the
mean-pooled tokens of a frozen rgl encoder (e.g. the shipped digits MAE)
on real and generated images serves instead. Lower is better; 0 for
identical statistics. Values are not comparable with Inception FID.
"""
import torch

from .frechet import feature_statistics, frechet_distance


@torch.no_grad()
def encoder_features(encoder, images, batch_size=256):
    """Mean-pooled tokens (N, D) of images (N, C, H, W) in [0, 1] (uint8
    is divided by 255)."""
    feats = []
    for i in range(0, len(images), batch_size):
        x = torch.as_tensor(images[i:i + batch_size])
        if x.dtype == torch.uint8:
            x = x.float() / 255
        feats.append(encoder(x).mean(dim=1).double())
    return torch.cat(feats)


def encoder_frechet_distance(encoder, real, fake, batch_size=256):
    """Fréchet distance of ``encoder`` features of ``real`` and ``fake``
    images (tensors (N, C, H, W) in [0, 1] or uint8)."""
    mu1, s1 = feature_statistics(encoder_features(encoder, real, batch_size))
    mu2, s2 = feature_statistics(encoder_features(encoder, fake, batch_size))
    return frechet_distance(mu1, s1, mu2, s2)
