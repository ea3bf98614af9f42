"""Replay buffer of SGLD chains (persistent contrastive divergence)."""
import torch
from torch import nn

from rgl.utils.errors import ConfigError


class ReplayBuffer(nn.Module):
    """``size`` images initialised U[0, 1]; a drawn image restarts from
    U[0, 1] with probability ``reinit_prob`` (paper: 10,000 and 0.001).

    The images are a persistent buffer, so a resumed run continues its
    chains.

    Args:
        size (int): number of stored images.
        shape (tuple): (C, H, W) of one image.
        reinit_prob (float): restart probability per drawn image.
    """

    def __init__(self, size, shape, reinit_prob=0.001):
        super().__init__()
        if int(size) < 1:
            raise ConfigError(f'buffer.size must be >= 1, got {size}')
        if not 0 <= float(reinit_prob) <= 1:
            raise ConfigError(
                f'buffer.reinit_prob must be in [0, 1], got {reinit_prob}')
        self.size, self.reinit_prob = int(size), float(reinit_prob)
        self.register_buffer('images', torch.rand(int(size), *shape))

    def check_batch(self, batch_size):
        if batch_size > self.size:
            raise ConfigError(
                f'buffer.size={self.size} is smaller than the batch '
                f'({batch_size}): raise buffer.size or lower the batch size')

    @torch.no_grad()
    def draw(self, n, generator=None):
        """Distinct random indices and their images, some restarted."""
        self.check_batch(n)
        dev = self.images.device
        # on the buffer's device, unless a (CPU) generator is given
        src = dev if generator is None else 'cpu'
        idx = torch.randperm(self.size, generator=generator,
                             device=src)[:n].to(dev)
        x = self.images[idx].clone()
        restart = torch.rand(n, generator=generator, device=src).to(dev)
        noise = torch.rand(x.shape, generator=generator, device=src).to(dev)
        x = torch.where(restart.view(-1, *[1] * (x.dim() - 1))
                        < self.reinit_prob, noise, x)
        return idx, x

    @torch.no_grad()
    def update(self, idx, x):
        self.images[idx] = x.detach().to(self.images.dtype)
