"""Generation metrics: FID, sFID, Inception Score, precision/recall (ADM
evaluator definitions) and a Fréchet distance in any rgl encoder's space."""
from .frechet import feature_statistics, frechet_distance

__all__ = ['feature_statistics', 'frechet_distance']
