"""Smoothed classifiers and certification statistics."""
from .cascade import CascadedSmoothedClassifier  # noqa: F401
from .smoothed_classifier import (ABSTAIN, SmoothedClassifier,
                                  check_sampling_args, check_sigma)
from .thresholded_score import ThresholdedScore  # noqa: F401
from .statistics import (binomial_two_sided_pvalue, certified_radius,
                         clopper_pearson_lower, clopper_pearson_upper)

__all__ = [
    'ABSTAIN', 'SmoothedClassifier', 'check_sampling_args', 'check_sigma',
    'binomial_two_sided_pvalue', 'certified_radius', 'clopper_pearson_lower',
    'clopper_pearson_upper', 'ThresholdedScore'
]
