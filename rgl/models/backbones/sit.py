"""SiT: Scalable Interpolant Transformers (Ma et al., 2024)."""
from rgl.registry import MODELS
from .diffusion_transformer import DiffusionTransformer


@MODELS.register_module()
class SiT(DiffusionTransformer):
    """The velocity network v_θ(x_t, t, y) of SiT and REPA, t ∈ [0, 1].

    Same layout as :class:`DiT`; it predicts C channels. ``learn_sigma=True``
    reproduces the official SiT release (``SiT-XL-2-256x256.pt``), which
    keeps DiT's 2C-channel output layer and discards the second half.

    ``class_token_dim=768`` gives REG's SiT, which carries a DINOv2-B
    class token beside the latents (see ``FlowMatching.class_token``).

    Example: ``dict(type='SiT', arch='XL/2', input_size=32)``; see
    :class:`~rgl.models.backbones.diffusion_transformer.DiffusionTransformer`
    for every argument.
    """

    def forward(self, x, t, y, cls_token=None):
        out = super().forward(x, t, y, cls_token)
        if not self.learn_sigma:
            return out
        if self.class_token_dim:
            return out[0][:, :self.in_channels], out[1]
        return out[:, :self.in_channels]
