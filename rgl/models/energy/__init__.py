"""CLEL: energy backbones, heads and the latent-guided joint energy."""
from .augment import StrongAugment
from .buffer import ReplayBuffer
from .clel import CLEL, guide_width
from .heads import CLELEnergyHead
from .joint import ebm_loss_terms, joint_energy, nt_xent
from .optim import CLELOptimWrapperConstructor
from .resnet import ARCH_SETTINGS, SNPreActResNet, has_spectral_norm
from .simclr import SimCLREncoder

__all__ = [
    'StrongAugment', 'ReplayBuffer', 'CLEL', 'guide_width',
    'CLELEnergyHead', 'ebm_loss_terms', 'joint_energy', 'nt_xent',
    'CLELOptimWrapperConstructor', 'ARCH_SETTINGS', 'SNPreActResNet',
    'has_spectral_norm', 'SimCLREncoder'
]
