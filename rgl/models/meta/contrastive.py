"""MetaMAE's task-contrastive objective."""
import torch
import torch.nn.functional as F
from torch import nn


def nt_xent(z1, z2, temperature=0.5):
    """SimCLR's NT-Xent between two views ``z1``, ``z2`` (N, d),
    L2-normalised here.

    Each of the 2N embeddings has its other view as the positive and the
    2N − 2 other embeddings as negatives; the loss is the mean cross-entropy
    of ``cos / τ`` over the 2N anchors.
    """
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = z1.shape[0]
    logits = z @ z.t() / temperature
    self_pairs = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_pairs, float('-inf'))
    labels = torch.arange(2 * n, device=z.device).roll(n)
    return F.cross_entropy(logits, labels)


class Projector(nn.Sequential):
    """``Linear(d, 4d, no bias) → BN → ReLU → Linear(4d, 128, no bias)``:
    the projection head of the task-contrastive loss."""

    def __init__(self, dim, out_dim=128, expansion=4):
        super().__init__(
            nn.Linear(dim, dim * expansion, bias=False),
            nn.BatchNorm1d(dim * expansion), nn.ReLU(inplace=True),
            nn.Linear(dim * expansion, out_dim, bias=False))
