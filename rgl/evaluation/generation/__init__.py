"""Generation metrics: FID, sFID, Inception Score, precision/recall (ADM
evaluator definitions) and a Fréchet distance in any rgl encoder's space."""
from .adm_metrics import (generation_metrics, inception_score,
                          manifold_radii, precision_recall)
from .encoder_fid import encoder_features, encoder_frechet_distance
from .frechet import feature_statistics, frechet_distance
from .inception import FIDInceptionV3, extract_inception_features

__all__ = [
    'feature_statistics', 'frechet_distance', 'generation_metrics',
    'inception_score', 'manifold_radii', 'precision_recall',
    'encoder_features', 'encoder_frechet_distance', 'FIDInceptionV3',
    'extract_inception_features'
]
