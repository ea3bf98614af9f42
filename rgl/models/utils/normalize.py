import torch
from torch import nn


class Normalize(nn.Module):
    """``(x - mean) / std`` per channel, as the first layer of a network.

    rgl feeds images in [0, 1]; keeping normalisation inside the model lets
    randomized smoothing add its noise in pixel space, where σ is defined.
    """

    def __init__(self, mean=None, std=None):
        super().__init__()
        self.enabled = mean is not None
        if self.enabled:
            std = std if std is not None else [1.0] * len(mean)
            self.register_buffer('mean',
                                 torch.tensor(mean).view(1, -1, 1, 1),
                                 persistent=False)
            self.register_buffer('std',
                                 torch.tensor(std).view(1, -1, 1, 1),
                                 persistent=False)

    def forward(self, x):
        if not self.enabled:
            return x
        return (x - self.mean) / self.std
