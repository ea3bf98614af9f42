"""The latent-guided joint energy and CLEL's loss terms."""
import torch
import torch.nn.functional as F


def joint_energy(f, z, y, beta):
    """E(x, y) = ½‖f(x)‖² − β·cos(z(x), y) per sample.

    The spherical term pulls the EBM's projection ``z`` towards the
    (normalised) latent ``y`` of the contrastive guide; it is also CLEL's
    out-of-distribution score.
    """
    return 0.5 * f.pow(2).sum(dim=1) - beta * F.cosine_similarity(z, y,
                                                                  dim=1)


def ebm_loss_terms(e_pos, e_neg, alpha):
    """Contrastive divergence ``mean(E(x⁺) − E(x⁻))`` and the energy
    magnitude regulariser ``α·mean(E(x⁺)² + E(x⁻)²)``."""
    return (e_pos - e_neg).mean(), alpha * (e_pos.pow(2) +
                                            e_neg.pow(2)).mean()


def nt_xent(y, temperature=0.2, extra_negatives=None):
    """SimCLR's NT-Xent on ``y = [views_a; views_b]`` (2n, D).

    ``extra_negatives`` (m, D), e.g. CLEL's detached EBM negatives z(x⁻),
    are added to every row's candidates (the official ``use_neg``).
    """
    n = y.shape[0] // 2
    y = F.normalize(y, dim=1)
    keys = y if extra_negatives is None else torch.cat(
        [y, F.normalize(extra_negatives, dim=1)])
    logits = y @ keys.t() / temperature
    self_pair = torch.eye(2 * n, keys.shape[0], dtype=torch.bool,
                          device=y.device)
    logits = logits.masked_fill(self_pair, float('-inf'))
    target = (torch.arange(2 * n, device=y.device) + n) % (2 * n)
    return F.cross_entropy(logits, target)
