import torch
import torch.nn.functional as F
from torch import nn

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError
from .utils import (WarmupCounter, check_noise_args, draw_noise, eval_mode,
                    l2_normalize, per_copy, project_l2, repeat_copies)


def smoothed_soft_nll(classifier_fn, x_rep, noise, labels, m):
    """``-log( mean_i softmax f(x + δ_i) )_y`` summed over the batch: the
    loss of the soft smoothed classifier that SmoothAdv attacks."""
    probs = per_copy(classifier_fn(x_rep + noise).softmax(dim=1), m)
    return F.nll_loss(probs.mean(0).clamp_min(1e-20).log(), labels,
                      reduction='sum')


@MODELS.register_module()
class SmoothAdvLoss(nn.Module):
    """SmoothAdv (Salman et al., NeurIPS 2019): adversarial training of the
    smoothed classifier.

    An L2 PGD attack of ``T`` steps of size ``α`` (default ``2ε/T``) finds
    ``x* = argmax_{‖x' − x‖₂ ≤ ε} -log(mean_i softmax f(x' + δ_i))_y`` with
    the noises ``δ_1..δ_M`` fixed; the classifier is then trained with
    ``mean_i CE(f(x* + δ_i), y)``. With ``epsilon=0`` (or ``num_steps=0``)
    it is Gaussian augmentation with M copies.

    Paper settings (CIFAR-10, 10 steps, 10 warm-up epochs): σ=0.25: ε=1.0,
    M=4; σ=0.5: ε=1.0, M=8; σ=1.0: ε=2.0, M=2.

    Args:
        sigma (float): noise level σ.
        epsilon (float): ε, L2 radius of the attack in [0, 1] pixel space.
        num_steps (int): T.
        num_noise (int): M.
        step_size (float, optional): α.
        warmup_iters (int): ε grows linearly from 0 over this many training
            iterations (the paper: 10 epochs, e.g. 1960 iterations of batch
            256 on CIFAR-10); 0 disables.
    """

    def __init__(self, sigma, epsilon=1.0, num_steps=10, num_noise=1,
                 step_size=None, warmup_iters=0):
        super().__init__()
        self.warmup = WarmupCounter(warmup_iters)
        check_noise_args(sigma, num_noise, 'SmoothAdvLoss')
        if epsilon < 0 or num_steps < 0:
            raise ConfigError('SmoothAdvLoss.epsilon and num_steps must be '
                              f'>= 0, got {epsilon}, {num_steps}')
        self.sigma, self.epsilon = float(sigma), float(epsilon)
        self.num_steps, self.num_noise = num_steps, num_noise
        self.step_size = step_size

    def attack(self, classifier_fn, inputs, labels, noise, epsilon=None):
        m = self.num_noise
        epsilon = self.epsilon if epsilon is None else epsilon
        if epsilon == 0 or self.num_steps == 0:
            return inputs
        alpha = self.step_size or 2 * epsilon / self.num_steps
        adv = inputs.detach()
        with eval_mode(classifier_fn), torch.enable_grad():
            for _ in range(self.num_steps):
                adv.requires_grad_(True)
                loss = smoothed_soft_nll(classifier_fn, repeat_copies(adv, m),
                                         noise, labels, m)
                grad, = torch.autograd.grad(loss, [adv])
                adv = adv.detach() + alpha * l2_normalize(grad)
                adv = (inputs + project_l2(adv - inputs, epsilon)
                       ).clamp(0, 1)
        return adv.detach()

    def forward(self, classifier_fn, inputs, labels):
        m = self.num_noise
        noise = draw_noise(inputs, self.sigma, m)
        adv = self.attack(classifier_fn, inputs, labels, noise,
                          self.epsilon * self.warmup.step())
        logits = classifier_fn(repeat_copies(adv, m) + noise)
        return dict(loss_cls=F.cross_entropy(logits, labels.repeat(m)))
