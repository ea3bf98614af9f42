"""A binary classifier from a real-valued score, so that randomized
smoothing certifies a thresholded decision (e.g. WinCLIP's "anomalous").

With ``f(x) = 1[s(x) > τ]`` the smoothed decision is

    ``g(x) = 1  iff  P_δ(s(x + δ) > τ) > 1/2``,  ``δ ~ N(0, σ² I)``,

and Cohen's CERTIFY applies unchanged to the two classes: the one-sided
Clopper-Pearson lower bound ``p_lower`` of ``P(f(x + δ) = ĉ)`` gives the
L2 radius ``σ Φ⁻¹(p_lower)`` within which the decision cannot change. This
module only turns the score into two logits; :class:`SmoothedClassifier`
and :mod:`.statistics` do the rest.
"""
import torch
from torch import nn

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError, DataError


@MODELS.register_module()
class ThresholdedScore(nn.Module):
    """``f(x) = 1[s(x) > τ]`` as two logits ``(τ − s, s − τ)``.

    The logits' argmax is class 1 exactly when ``s(x) > τ`` (a tie goes to
    class 0), which is all that smoothing reads; their magnitude
    ``|s − τ|`` is the margin, not a probability.

    Args:
        scorer (dict | nn.Module): any model whose ``forward(x,
            mode=mode)`` returns one score per image ``(N,)`` for images in
            [0, 1] (or a tuple whose ``output_index``-th entry is), e.g.
            ``WinCLIP`` (``mode='tensor'`` gives ``(image_score,
            maps)``) or ``CLEL`` (``mode='predict'``: the OOD score).
            Frozen: its weights are part of this module's state dict
            (``scorer.*``), so a certification checkpoint holds them.
        threshold (float): τ, the decision threshold on the score.
        mode (str): the ``mode`` passed to the scorer.
        output_index (int): which entry of a tuple output is the score.
        classes (Sequence[str]): names of class 0 (``s ≤ τ``) and class 1.
    """

    num_classes = 2

    def __init__(self, scorer, threshold, mode='tensor', output_index=0,
                 classes=('normal', 'anomalous')):
        super().__init__()
        if not isinstance(threshold, (int, float)) or \
                isinstance(threshold, bool):
            raise ConfigError(f'model.threshold (τ) must be a number, got '
                              f'{threshold!r}')
        if len(classes) != 2:
            raise ConfigError(f'model.classes must name 2 classes, got '
                              f'{classes!r}')
        self.scorer = scorer if isinstance(scorer, nn.Module) else \
            MODELS.build(scorer)
        self.scorer.requires_grad_(False).eval()
        self.threshold = float(threshold)
        self.mode = mode
        self.output_index = int(output_index)
        self.classes = tuple(classes)

    def train(self, mode=True):
        """The scorer stays in eval mode (it is frozen)."""
        super().train(mode)
        self.scorer.eval()
        return self

    def score(self, x):
        """``s(x)``: one float per image, ``(N,)``."""
        out = self.scorer(x, mode=self.mode)
        if isinstance(out, (tuple, list)):
            out = out[self.output_index]
        if not torch.is_tensor(out) or out.shape != (x.shape[0], ):
            shape = tuple(out.shape) if torch.is_tensor(out) else type(out)
            raise DataError(
                f'ThresholdedScore: the scorer {type(self.scorer).__name__} '
                f'(mode={self.mode!r}, output_index={self.output_index}) '
                f'must return one score per image, shape ({x.shape[0]},), '
                f'got {shape}')
        return out.float()

    def logits(self, x):
        """``(τ − s(x), s(x) − τ)``: ``(N, 2)``."""
        margin = self.score(x) - self.threshold
        return torch.stack([-margin, margin], dim=1)

    def forward(self, x, *args, **kwargs):
        return self.logits(x)
