"""WinCLIP+'s few-normal-shot memory bank and visual association score."""
import torch
from torch import nn


class VisualMemoryBank(nn.Module):
    """Features of ``k`` normal reference images, one bank per level.

    ``R_k`` holds the window embeddings of scale ``k`` of all reference
    images (any position) and ``R_p`` their patch tokens. The association
    score of a query feature ``f`` is ``min_{r ∈ R} (1 - <f, r>) / 2`` with
    unit-norm features: 0 when ``f`` matches some normal feature, up to 1.
    """

    def __init__(self):
        super().__init__()
        self.banks = {}

    def __len__(self):
        return len(self.banks)

    @torch.no_grad()
    def build(self, feats):
        """Fill the bank from :class:`WindowEmbedder` features of the
        reference images."""
        self.banks = {'patches': feats['patches'].flatten(0, 1)}
        for k, emb in feats['windows'].items():
            self.banks[k] = emb.flatten(0, 1)
        return self

    @torch.no_grad()
    def association(self, level, queries):
        """Scores ``(B, N)`` of queries ``(B, N, C)`` against bank
        ``level`` (``'patches'`` or a window scale)."""
        bank = self.banks[level].to(queries)
        # (1 - max cos) / 2 == min over the bank of (1 - cos) / 2
        best = (queries @ bank.t()).amax(-1)
        return (1.0 - best) / 2.0
