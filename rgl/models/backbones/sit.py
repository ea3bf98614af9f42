"""SiT: Scalable Interpolant Transformers (Ma et al., 2024)."""
from rgl.registry import MODELS
from .diffusion_transformer import DiffusionTransformer


@MODELS.register_module()
class SiT(DiffusionTransformer):
    """The velocity network v_θ(x_t, t, y) of SiT and REPA, t ∈ [0, 1].

    Same layout as :class:`DiT`; it predicts C channels. ``learn_sigma=True``
    reproduces the official SiT release (``SiT-XL-2-256x256.pt``), which
    keeps DiT's 2C-channel output layer and discards the second half.

    Example: ``dict(type='SiT', arch='XL/2', input_size=32)``; see
    :class:`~rgl.models.backbones.diffusion_transformer.DiffusionTransformer`
    for every argument.
    """

    def forward(self, x, t, y):
        out = super().forward(x, t, y)
        if self.learn_sigma:
            out = out[:, :self.in_channels]
        return out
