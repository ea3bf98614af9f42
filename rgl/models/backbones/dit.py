"""DiT: Scalable Diffusion Models with Transformers (Peebles & Xie, 2023)."""
from rgl.registry import MODELS
from .diffusion_transformer import DiffusionTransformer


@MODELS.register_module()
class DiT(DiffusionTransformer):
    """The noise network of DiT: ε_θ(x_t, t, y) and, with the default
    ``learn_sigma=True``, the interpolation values v of the learned variance
    ``Σ_θ = exp(v log β_t + (1 − v) log β̃_t)`` in the second C channels.
    t is the step index in {0, ..., 999}.

    Example: ``dict(type='DiT', arch='XL/2', input_size=32)``.
    """

    def __init__(self, *args, learn_sigma=True, **kwargs):
        super().__init__(*args, learn_sigma=learn_sigma, **kwargs)
