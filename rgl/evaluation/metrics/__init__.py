from .accuracy import Accuracy
from .anomaly import AnomalyMetric  # noqa: F401

__all__ = ['Accuracy']
