import torch
import torch.nn.functional as F
from torch import nn

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError, DataError
from .utils import (check_noise_args, draw_noise, kl_rows, per_copy,
                    repeat_copies, standardized_kl_pgd)


@MODELS.register_module()
class CATRSLoss(nn.Module):
    """CAT-RS: confidence-aware training of smoothed classifiers (Jeong,
    Kim, Shin, AAAI 2023).

    For each sample, M noises ``δ_i ~ N(0, σ² I)``:

    - confidence ``w = (1/M) Σ_i 1[argmax f(x + δ_i) = y]`` (the accuracy
      under noise), or ``p̂_y`` of a precomputed smoothed prediction ``p̂``;
    - ``K ~ Binomial(M, w)``, clamped to ``[1, M]``;
    - ``L_low = (1/M) Σ_{j ≤ K} CE_(j)``, the K smallest per-copy
      cross-entropies (sorted; the reference divides by M, not K);
    - ``L_high = max_i KL(p̂ ‖ softmax f(x + δ_i*))`` with ``δ_i*`` from a
      PGD in *noise space*: ``T`` L2-normalised ascent steps of size
      ``2ε/T`` on the mean KL, ``δ* − δ`` projected to the ε-ball and every
      noise re-standardised to its original per-sample mean and RMS;
      ``p̂`` is the precomputed smoothed prediction, else the vote
      frequencies of the M copies (one-hot ``y`` once all copies are right);
    - ``L = mean_b ( L_low + λ · L_high · 1[K = M] )``: the worst-case term
      applies only to samples whose copies are all accepted.

    With ``num_noise=1`` and ``lbd=0`` it is Gaussian augmentation.

    Paper settings: CIFAR-10 (ResNet-110) M=4, ε=1.0, T=4,
    λ = 0.5 / 1.0 / 2.0 for σ = 0.25 / 0.5 / 1.0; ImageNet (ResNet-50)
    M=2, ε=1.0, T=1, λ=2.0 with the precomputed confidence.

    Args:
        sigma (float): σ. num_noise (int): M. lbd (float): λ.
        epsilon (float): ε, the L2 radius of the noise-space attack.
        num_steps (int): T.
        teacher (dict | nn.Module, optional): a smoothed classifier (e.g.
            ``SmoothedClassifier`` of a Gaussian σ=0.25 model with its
            ``checkpoint``) whose vote frequencies over
            ``teacher_num_samples`` draws serve as ``p̂``: the reference's
            precomputed smoothed predictions, estimated on the fly. Frozen
            and kept out of this module's parameters and checkpoints.
        teacher_num_samples (int): draws per image for the teacher.

    ``forward(classifier_fn, inputs, labels, smoothed_pred=None)``:
    ``smoothed_pred`` ``(B, K)`` is the precomputed ``p̂`` (e.g. vote
    frequencies of a Gaussian model at σ); it replaces the in-batch
    confidence and KL target.
    """

    def __init__(self, sigma, num_noise=4, lbd=1.0, epsilon=1.0,
                 num_steps=4, teacher=None, teacher_num_samples=16):
        super().__init__()
        self._teacher = []  # a list: not a submodule, never trained/saved
        if teacher is not None:
            from rgl.registry import MODELS
            teacher = teacher if isinstance(teacher, nn.Module) else \
                MODELS.build(teacher)
            teacher.requires_grad_(False).eval()
            self._teacher.append(teacher)
        self.teacher_num_samples = teacher_num_samples
        check_noise_args(sigma, num_noise, 'CATRSLoss')
        if epsilon < 0 or num_steps < 0:
            raise ConfigError('CATRSLoss.epsilon and num_steps must be >= 0')
        self.sigma, self.num_noise = float(sigma), num_noise
        self.lbd, self.epsilon, self.num_steps = lbd, float(epsilon), \
            num_steps
        # row K keeps the K smallest of M sorted cross-entropies
        self.register_buffer(
            'tril', torch.ones(num_noise + 1, num_noise).tril(-1),
            persistent=False)

    def attack_noise(self, classifier_fn, inputs, target, noise):
        """Noise-space PGD maximising ``mean_i KL(p̂ ‖ f(x + δ_i))``."""
        m = self.num_noise
        return standardized_kl_pgd(
            classifier_fn, repeat_copies(inputs, m), target.repeat(m, 1),
            noise, self.epsilon, self.num_steps, m)

    def teacher_votes(self, inputs):
        teacher = self._teacher[0].to(inputs.device)
        n = self.teacher_num_samples
        counts = teacher.sample_counts(inputs.detach(), n,
                                       batch_size=n * inputs.shape[0])
        # a normal tensor (not an inference one) can enter the loss graph
        return counts.float().clone() / n

    def forward(self, classifier_fn, inputs, labels, smoothed_pred=None):
        m, b = self.num_noise, inputs.shape[0]
        noise = draw_noise(inputs, self.sigma, m)
        logits = per_copy(classifier_fn(repeat_copies(inputs, m) + noise), m)
        k = logits.shape[-1]
        votes = F.one_hot(logits.argmax(-1), k).float().mean(0)  # (B, K)
        if smoothed_pred is None and self._teacher:
            smoothed_pred = self.teacher_votes(inputs)
        if smoothed_pred is not None:
            if smoothed_pred.shape != (b, k):
                raise DataError(f'smoothed_pred must have shape ({b}, {k}), '
                                f'got {tuple(smoothed_pred.shape)}')
            target = smoothed_pred.to(votes)
        else:
            target = votes
        w = target.gather(1, labels[:, None])[:, 0].clamp(0, 1)
        accept = torch.binomial(torch.full_like(w, m), w).long().clamp(1, m)
        ce = F.cross_entropy(logits.flatten(0, 1), labels.repeat(m),
                             reduction='none').view(m, b).t()  # (B, M)
        loss_low = (ce.sort(dim=1).values * self.tril[accept]).mean(1)
        out = dict(loss_low=loss_low.mean())
        if self.lbd:
            full = accept == m
            adv_noise = self.attack_noise(classifier_fn, inputs, target,
                                          noise)
            adv_logits = per_copy(
                classifier_fn(repeat_copies(inputs, m) + adv_noise), m)
            kl = kl_rows(target.expand(m, -1, -1), adv_logits).max(0).values
            out['loss_high'] = self.lbd * (kl * full).mean()
        return out
