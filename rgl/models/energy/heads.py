"""CLEL's energy head: pooled features -> (f, z), with E(x) = ½‖f(x)‖²."""
from torch import nn

from rgl.registry import MODELS


def mlp(dims, bias=True, slope=0.2, norm=False):
    """Linear layers ``dims[0] -> ... -> dims[-1]`` with LeakyReLU (ReLU
    when ``slope`` is 0) and optional BatchNorm between them."""
    layers = []
    for i in range(len(dims) - 1):
        last = i == len(dims) - 2
        layers.append(nn.Linear(dims[i], dims[i + 1],
                                bias=bias and (last or not norm)))
        if not last:
            if norm:
                layers.append(nn.BatchNorm1d(dims[i + 1]))
            layers.append(nn.LeakyReLU(slope) if slope else nn.ReLU())
    return nn.Sequential(*layers)


@MODELS.register_module()
class CLELEnergyHead(nn.Module):
    """Energy and latent projection on top of an energy backbone.

    ``f = head(h)`` (the paper's energy feature, 128-d) gives the energy
    :math:`E_\\theta(x) = \\frac12\\lVert f\\rVert^2`, and
    ``z = projection(f)`` is the EBM's point in the latent space, compared
    with the guide's latent by cosine similarity.

    Args:
        in_channels (int): width of the pooled backbone features.
        head_dims (list[int]): hidden and output widths of ``head``
            (paper: [2048, 128]).
        projection_dims (list[int]): hidden and output widths of the
            bias-free ``projection`` (paper: [2048, 128]).
        slope (float): LeakyReLU slope.
    """

    def __init__(self, in_channels, head_dims=(2048, 128),
                 projection_dims=(2048, 128), slope=0.2):
        super().__init__()
        self.head = mlp([in_channels, *head_dims], bias=True, slope=slope)
        self.projection = mlp([head_dims[-1], *projection_dims], bias=False,
                              slope=slope)
        self.feat_dim = int(head_dims[-1])
        self.out_dim = int(projection_dims[-1])
        for m in self.modules():
            if isinstance(m, nn.Linear):
                # small weights: the energy starts near zero
                nn.init.normal_(m.weight, 0.0, 0.01)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, h):
        f = self.head(h)
        return f, self.projection(f)

    @staticmethod
    def energy(f):
        """E = ½‖f‖² per sample."""
        return f.pow(2).sum(dim=1).mul(0.5)
