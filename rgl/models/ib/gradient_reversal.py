"""Gradient reversal (Ganin & Lempitsky, 2015) for the nuisance adversary."""
import torch
from torch import nn


class _ReverseGrad(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.scale * grad, None


def reverse_gradient(x, scale=1.0):
    """Identity forward; multiplies the incoming gradient by ``-scale``.

    The adversary after it descends its own loss while the encoder before it
    ascends the same loss: one backward pass plays the min-max game.
    """
    return _ReverseGrad.apply(x, float(scale))


class GradientReversal(nn.Module):
    """:func:`reverse_gradient` as a module (``scale`` is η)."""

    def __init__(self, scale=1.0):
        super().__init__()
        self.scale = float(scale)

    def forward(self, x):
        return reverse_gradient(x, self.scale)

    def extra_repr(self):
        return f'scale={self.scale}'
