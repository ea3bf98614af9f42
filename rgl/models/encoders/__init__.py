"""Frozen representation encoders: images in [0, 1] -> tokens (N, T, D)."""
from .base import FrozenEncoder, match_token_grid
from .checkpoint_encoder import CheckpointEncoder
from .clip import CLIPEncoder
from .mae import MAEEncoder, mae_timm_to_mmpretrain
from .timm_vit import DINOv2Encoder, MoCoV3Encoder, TimmViTEncoder

__all__ = [
    'FrozenEncoder', 'match_token_grid', 'CheckpointEncoder', 'CLIPEncoder',
    'MAEEncoder', 'mae_timm_to_mmpretrain', 'DINOv2Encoder', 'MoCoV3Encoder',
    'TimmViTEncoder'
]
