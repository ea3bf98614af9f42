"""Spectral-normalised pre-activation ResNet: the energy network of CLEL.

Pre-activation basic blocks with LeakyReLU(0.2), 2x2 average pooling
between stages, global average pooling at the end; spectral normalisation
on every convolution (and any linear layer) keeps the energy Lipschitz, so
that SGLD with a large step (a = 100) stays stable. Stage tables follow the
official code: ``arch`` name -> [(channels, blocks), ...].
"""
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError
from ..utils import Normalize

ARCH_SETTINGS = {
    # CIFAR-10 and ImageNet 32x32 (the paper's default EBM)
    'resnet': [(128, 2), (128, 2), (256, 2), (256, 2)],
    'resnet_small': [(64, 1), (64, 1), (128, 1), (128, 1)],
    'resnet64': [(64, 2), (128, 2), (128, 2), (256, 2), (256, 2)],
    # CPU proxy for the bundled 16x16 digits
    'tiny': [(16, 1), (32, 1), (64, 1)],
}


class PreActBlock(nn.Module):
    """x + conv(act(conv(act(x)))), with a 1x1 shortcut on a width change."""

    def __init__(self, in_channels, out_channels, slope=0.2):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.act = nn.LeakyReLU(slope)
        self.shortcut = (nn.Identity() if in_channels == out_channels else
                         nn.Conv2d(in_channels, out_channels, 1, bias=False))

    def forward(self, x):
        return self.shortcut(x) + self.conv2(self.act(self.conv1(
            self.act(x))))


@MODELS.register_module()
class SNPreActResNet(nn.Module):
    """Energy backbone: images in [0, 1] -> pooled features ``(N, C)``.

    Args:
        arch (str | list): a key of ``ARCH_SETTINGS`` or a list of
            ``(channels, blocks)`` per stage.
        in_channels (int): image channels.
        mean (tuple, optional): per-channel mean of the input
            normalisation (the first layer); None for none.
        std (tuple, optional): per-channel std of the normalisation.
        spectral_norm (bool): wrap every conv and linear layer in spectral
            normalisation (on for the EBM; off to reuse the net as a
            contrastive encoder).
        slope (float): negative slope of the LeakyReLU.
    """

    def __init__(self, arch='resnet', in_channels=3, mean=None, std=None,
                 spectral_norm=True, slope=0.2):
        super().__init__()
        if isinstance(arch, str):
            if arch not in ARCH_SETTINGS:
                raise ConfigError(
                    f'SNPreActResNet.arch: unknown {arch!r}; choose one of '
                    f'{sorted(ARCH_SETTINGS)} or give [(channels, blocks)]')
            arch = ARCH_SETTINGS[arch]
        stages = [(int(c), int(b)) for c, b in arch]
        width = stages[0][0]
        self.normalize = (Normalize(mean, std) if mean is not None
                          else nn.Identity())
        self.stem = nn.Conv2d(in_channels, width, 3, padding=1)
        layers = []
        for i, (channels, blocks) in enumerate(stages):
            if i > 0:
                layers.append(nn.AvgPool2d(2))
            for _ in range(blocks):
                layers.append(PreActBlock(width, channels, slope))
                width = channels
        self.stages = nn.Sequential(*layers)
        self.act = nn.LeakyReLU(slope)
        self.out_channels = width
        self.init_weights()
        if spectral_norm:
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    _apply_spectral_norm(m)

    def init_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_in',
                                        nonlinearity='linear')
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x):
        h = self.stages(self.stem(self.normalize(x)))
        return F.adaptive_avg_pool2d(self.act(h), 1).flatten(1)


def _apply_spectral_norm(module):
    spectral_norm(module)


def has_spectral_norm(module):
    """Whether ``module``'s weight is spectrally normalised."""
    from torch.nn.utils import parametrize
    return (parametrize.is_parametrized(module, 'weight') and any(
        type(p).__name__ == '_SpectralNorm'
        for p in module.parametrizations.weight))
