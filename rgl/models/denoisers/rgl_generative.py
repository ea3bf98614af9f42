"""Denoisers from rgl's own generative models: a DDPM-trained DiT/SiT and
a flow-matching SiT (``rgl.models.generative``), in pixel space."""
import torch

from rgl.registry import MODELS
from rgl.utils.checkpoint import load_state_dict_file
from rgl.utils.errors import CheckpointError, ConfigError
from .base import DiscreteDiffusionDenoiser, OneShotDenoiser
from .schedules import flow_input_scale, flow_match_time


def build_generative(model, checkpoint=None, key='state_dict', prefix=''):
    """Build an rgl ``DDPM``/``FlowMatching`` config without its REPA
    aligners (training-only) and load ``checkpoint`` strictly.

    mmengine's checkpoints keep the EMA weights in ``state_dict`` when an
    ``EMAHook`` ran, so ``key='state_dict'`` denoises with the EMA model.
    ``prefix`` selects the model inside a larger state dict (e.g.
    ``'denoiser.model.'`` for a ``DenoiserFinetuner`` checkpoint).
    """
    if isinstance(model, torch.nn.Module):
        built = model
    else:
        cfg = dict(model)
        cfg['aligners'] = None
        built = MODELS.build(cfg)
    if getattr(built, 'vae', None) is not None:
        raise ConfigError(
            'denoiser.model.vae: a latent-space model cannot denoise '
            'pixel-space Gaussian noise; use a pixel-space model (no vae)')
    if checkpoint is not None:
        state = load_state_dict_file(checkpoint, key=key)
        if prefix:
            state = {k[len(prefix):]: v for k, v in state.items()
                     if k.startswith(prefix)}
        state = {k: v for k, v in state.items()
                 if not k.startswith('aligners.')}
        own = built.state_dict()
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if missing or unexpected:
            raise CheckpointError(
                f'{checkpoint} does not match denoiser.model: first missing '
                f'key {missing[:1]}, unexpected {unexpected[:5]}')
        built.load_state_dict(state, strict=True)
    return built.eval().requires_grad_(False)


class _RglModelMixin:

    def _setup(self, model, checkpoint, key, label, algorithm):
        self.model = build_generative(model, checkpoint, key)
        if not isinstance(self.model, algorithm):
            raise ConfigError(f'denoiser.model must be an rgl '
                              f'{algorithm.__name__}, got '
                              f'{type(self.model).__name__}')
        backbone = self.model.backbone
        self.output_size = backbone.input_size
        # unconditional denoising: the null class ∅ of classifier-free
        # guidance (the label the model saw under label dropout)
        self.label = self.model.null_label if label is None else int(label)
        if not 0 <= self.label <= backbone.num_classes:
            raise ConfigError(f'denoiser.label must be in [0, '
                              f'{backbone.num_classes}], got {label!r}')

    @property
    def network(self):
        return self.model.backbone

    def _labels(self, x):
        return torch.full((x.shape[0], ), self.label, dtype=torch.long,
                          device=x.device)


@MODELS.register_module()
class DDPMDenoiser(_RglModelMixin, DiscreteDiffusionDenoiser):
    """One-shot denoiser from an rgl ``DDPM`` (e.g. a DiT trained with
    ``tools/train.py``).

    Args:
        model (dict | nn.Module): the ``DDPM`` config (as in its training
            config's ``model``).
        checkpoint (str, optional): the training checkpoint (strict load).
        key (str): checkpoint entry holding the weights.
        label (int, optional): class fed to the network; default the null
            class ∅ (unconditional).
        checkpoint_prefix (str): keys of the model inside the checkpoint,
            e.g. ``'denoiser.model.'`` after ``DenoiserFinetuner``.
        **kwargs: ``multistep``, ``clip_denoised``, ``autocast``,
            ``channels_last``, ``max_batch`` (see
            :class:`DiscreteDiffusionDenoiser`).
    """

    def __init__(self, model, checkpoint=None, key='state_dict', label=None,
                 checkpoint_prefix='', **kwargs):
        from rgl.models.generative import DDPM
        built = build_generative(model, checkpoint, key, checkpoint_prefix)
        if not isinstance(built, DDPM):
            raise ConfigError(f'denoiser.model must be an rgl DDPM, got '
                              f'{type(built).__name__}')
        super().__init__(built.diffusion.betas, **kwargs)
        self._setup(built, None, key, label, DDPM)

    def model_output(self, x_t, t):
        return self.model.network(x_t, t.to(x_t.dtype), self._labels(x_t))


@MODELS.register_module()
class FlowMatchingDenoiser(_RglModelMixin, OneShotDenoiser):
    """One-shot denoiser from an rgl ``FlowMatching`` model (SiT).

    With the interpolant ``x_t = α_t x + σ_t ε``, the matched time t solves
    ``σ_t/α_t = σ'``; the network sees ``x_t = α_t (x' + δ')`` and the clean
    image comes from the velocity: ``x̂'_0 = (σ̇_t x_t − σ_t v) /
    (α_t σ̇_t − σ_t α̇_t)``.

    Args:
        model, checkpoint, key, label, checkpoint_prefix: as
            :class:`DDPMDenoiser`.
        num_steps (int): 1 (default) is the one-shot estimate; more
            integrate the probability-flow ODE from t to 0 with Euler steps
            on an even grid (deterministic).
        **kwargs: see :class:`OneShotDenoiser`.
    """

    def __init__(self, model, checkpoint=None, key='state_dict', label=None,
                 num_steps=1, checkpoint_prefix='', **kwargs):
        from rgl.models.generative import FlowMatching
        super().__init__(**kwargs)
        self._setup(build_generative(model, checkpoint, key,
                                     checkpoint_prefix), None, key, label,
                    FlowMatching)
        if not isinstance(num_steps, int) or num_steps < 1:
            raise ConfigError(f'denoiser.num_steps must be a positive int, '
                              f'got {num_steps!r}')
        self.num_steps = num_steps
        self.interpolant = self.model.interpolant

    def timestep(self, sigma_prime):
        return flow_match_time(self.interpolant, sigma_prime)

    def predict_x0(self, x, sigma_prime):
        t = self.timestep(sigma_prime)
        x_t = x * flow_input_scale(self.interpolant, t)
        y = self._labels(x)
        grid = torch.linspace(t, 0.0, self.num_steps + 1).tolist()
        for t_now, t_next in zip(grid[:-1], grid[1:]):
            tt = torch.full((x.shape[0], ), t_now, device=x.device)
            v = self.model.network(x_t, tt.to(x_t.dtype), y).float()
            if t_next == 0.0 or self.num_steps == 1:
                return self.interpolant.data_from_velocity(v, x_t.float(), tt)
            x_t = x_t.float() + (t_next - t_now) * v
        return x_t
