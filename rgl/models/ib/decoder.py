"""The decoder ``p(x | z, z_n)`` of the nuisance-extended IB."""
import math

import torch
from torch import nn

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError


@MODELS.register_module()
class NIBConvDecoder(nn.Module):
    """Reconstruct ``x`` in [0, 1] from the IB latent and the nuisance map.

    ``z`` ``(N, D_z)`` is projected to a ``z_channels``-channel map of the
    nuisance grid and concatenated with ``z_n`` ``(N, C_n, h, w)``; then
    each stage doubles the resolution (nearest upsampling + conv-BN-ReLU)
    until the image side, and a 3x3 conv and a sigmoid give ``x̂``.

    Args:
        z_dim (int): ``D_z``; set by the model.
        nuisance_channels (int): ``C_n``; set by the model.
        out_channels (int): image channels.
        img_size (int): image side; ``img_size / h`` must be a power of 2.
        feature_size (int): side ``h`` of the nuisance map.
        z_channels (int): channels of the projected ``z`` map.
        width (int): channels of every upsampling stage.
    """

    def __init__(self, z_dim, nuisance_channels, out_channels, img_size,
                 feature_size, z_channels=32, width=64):
        super().__init__()
        ratio = img_size // feature_size
        if (img_size % feature_size or ratio < 1
                or ratio & (ratio - 1)):
            raise ConfigError(
                f'model.decoder: img_size={img_size} must be a power-of-2 '
                f'multiple of the feature map side {feature_size}')
        self.feature_size = feature_size
        self.z_channels = z_channels
        self.project = nn.Linear(z_dim, z_channels * feature_size ** 2)
        layers, c_in = [], z_channels + nuisance_channels
        for _ in range(int(math.log2(ratio))):
            layers += [
                nn.Upsample(scale_factor=2, mode='nearest'),
                nn.Conv2d(c_in, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width), nn.ReLU(inplace=True)
            ]
            c_in = width
        layers.append(nn.Conv2d(c_in, out_channels, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, z, z_n):
        if z_n.shape[-1] != self.feature_size:
            raise ConfigError(
                f'model.decoder.feature_size={self.feature_size}, but the '
                f'nuisance map is {tuple(z_n.shape[-2:])}')
        s = self.feature_size
        z_map = self.project(z).view(z.shape[0], self.z_channels, s, s)
        return torch.sigmoid(self.net(torch.cat([z_map, z_n], dim=1)))
