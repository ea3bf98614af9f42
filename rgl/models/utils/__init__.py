from .feature_tap import FeatureTap, resolve_layer
from .normalize import Normalize

__all__ = ['FeatureTap', 'resolve_layer', 'Normalize']
