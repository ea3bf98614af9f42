"""Certified accuracy and average certified radius from a certification TSV.

``certified accuracy at r = mean_i 1[ĝ(x_i) = y_i and R_i ≥ r]`` and
``ACR = mean_i R_i · 1[ĝ(x_i) = y_i]`` (abstentions count with R = 0).
"""
import math

import numpy as np

from rgl.utils.errors import ConfigError


def certified_accuracy(radius, correct, radii):
    """Fraction of images certified correctly at each radius in ``radii``."""
    radius, correct = np.asarray(radius), np.asarray(correct).astype(bool)
    return np.array([(correct & (radius >= r)).mean() for r in radii])


def average_certified_radius(radius, correct):
    radius, correct = np.asarray(radius), np.asarray(correct).astype(bool)
    return float((radius * correct).mean())


def high_probability_correction(n, alpha, rho):
    """What to subtract from an empirical certified accuracy over ``n``
    images so that it lower-bounds the true one with probability
    ``1 − ρ`` when every certificate holds with probability ``1 − α``
    (Cohen et al. 2019, App.; a Bernstein bound)::

        α + sqrt(α(1−α) log(1/ρ) / n) + log(1/ρ) / (3n)
    """
    if not 0 < rho < 1:
        raise ConfigError(f'rho must lie in (0, 1), got {rho}')
    if not 0 < alpha < 1:
        raise ConfigError(f'alpha must lie in (0, 1), got {alpha}')
    log_term = math.log(1 / rho)
    return alpha + math.sqrt(alpha * (1 - alpha) * log_term / n) + \
        log_term / (3 * n)


def summarize(rows, radii, alpha=None, rho=None):
    """Certified accuracy at ``radii`` and ACR of one run (``rows`` as from
    :func:`~rgl.evaluation.certification.read_certify_tsv`). With ``alpha``
    and ``rho`` the accuracies are corrected to hold with probability
    ``1 − ρ``."""
    acc = certified_accuracy(rows['radius'], rows['correct'], radii)
    if alpha is not None and rho is not None:
        acc = np.maximum(
            acc - high_probability_correction(len(rows['radius']), alpha,
                                              rho), 0.0)
    return dict(radii=list(radii), certified_accuracy=acc.tolist(),
                acr=average_certified_radius(rows['radius'], rows['correct']),
                num_images=int(len(rows['radius'])),
                abstain_rate=float((rows['predict'] < 0).mean()),
                clean_accuracy=float(np.mean(rows['correct'])))
