from .accuracy import Accuracy
from .anomaly import AnomalyMetric  # noqa: F401
from . import ranking  # noqa: F401  (TIA2 per-prompt ranking metrics)

__all__ = ['Accuracy']
