from .feature_tap import FeatureTap, resolve_layer
from .normalize import Normalize
from .token_grid import as_tokens, match_token_grid

__all__ = [
    'FeatureTap', 'resolve_layer', 'Normalize', 'as_tokens',
    'match_token_grid'
]
