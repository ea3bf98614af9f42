"""The one-shot denoiser interface ``denoise(x_noisy, sigma) -> x_hat``.

Randomized smoothing draws ``x + δ``, ``δ ~ N(0, σ²I)``, on [0, 1] images;
a denoiser returns an estimate of ``x`` on [0, 1] that any classifier can
take (denoised smoothing; Salman et al. 2020, Carlini et al. 2023).
"""
import contextlib
import hashlib

import numpy as np
import torch
from torch import nn

from rgl.models.generative.gaussian_diffusion import GaussianDiffusion
from rgl.utils.errors import ConfigError, DataError
from .schedules import ddpm_input_scale, match_timestep

_AUTOCAST = {None: None, 'bf16': torch.bfloat16, 'bfloat16': torch.bfloat16,
             'fp16': torch.float16, 'float16': torch.float16}


_MASK64 = (1 << 64) - 1


def row_noise_bases(x, seed):
    """One 64-bit base seed per row of ``x``: ``blake2b(seed, row bits)``.

    A row of a certification batch is one draw ``x_b + δ_{b,i}``, itself a
    function of (seed, image index, draw) (``rgl.models.smoothing.noise``),
    and its float32 bits do not depend on the rows around it. Seeding the
    row's own noise from them keeps the multistep denoiser's noise a
    function of the image and the draw alone: the result does not depend on
    the batch size, on which images share a batch, on ``max_batch`` or on
    a resumed run.
    """
    rows = x.detach().float().contiguous().cpu().numpy()
    prefix = repr(('rgl.multistep', int(seed))).encode()
    return [int.from_bytes(hashlib.blake2b(prefix + row.tobytes(),
                                           digest_size=8).digest(), 'little')
            for row in rows]


def check_denoise_sigma(sigma, key='sigma'):
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or \
            not sigma >= 0 or not np.isfinite(sigma):
        raise ConfigError(f'{key} (the noise level σ of the denoiser) must be '
                          f'a non-negative number, got {sigma!r}')


class OneShotDenoiser(nn.Module):
    """Base of the diffusion/flow denoisers.

    ``denoise`` maps ``x + δ`` to the model space ``x' + δ' = 2(x + δ) − 1``
    (so ``σ' = 2σ``), lets the backend estimate ``x̂'_0`` in one call
    (:meth:`predict_x0`), clips it to [−1, 1] and maps back to [0, 1].

    Args:
        clip_denoised (bool): clip ``x̂'_0`` to [−1, 1] (the reference's
            ``clip_denoised=True``).
        autocast (str, optional): ``'bf16'`` or ``'fp16'`` autocast of the
            network on the input's device; ``None`` runs in the caller's
            precision context (e.g. ``SmoothedClassifier``'s).
        channels_last (bool): channels-last memory format for the network
            and its inputs (faster convolutions in oneDNN/cuDNN).
        max_batch (int, optional): split larger batches into network calls
            of at most this many images (memory); ``None``: one call.

    Subclasses set ``output_size`` (the side of the images the network
    was trained on, ``None`` if any) and implement :meth:`predict_x0`.
    """

    #: values of the returned images (the interface: [0, 1])
    output_range = (0.0, 1.0)
    output_size = None
    #: convolutional UNets take any size divisible by this (then
    #: ``output_size`` is only the training resolution); ``None``: exactly
    #: ``output_size`` (transformers with fixed position embeddings)
    size_multiple = None

    def __init__(self, clip_denoised=True, autocast=None,
                 channels_last=False, max_batch=None):
        super().__init__()
        if autocast not in _AUTOCAST:
            raise ConfigError(f"denoiser.autocast must be None, 'bf16' or "
                              f"'fp16', got {autocast!r}")
        if max_batch is not None and (not isinstance(max_batch, int)
                                      or max_batch < 1):
            raise ConfigError(f'denoiser.max_batch must be a positive int, '
                              f'got {max_batch!r}')
        self.clip_denoised = clip_denoised
        self.autocast = _AUTOCAST[autocast]
        self.channels_last = channels_last
        self.max_batch = max_batch
        self._memory_format_set = False

    # -- to implement -------------------------------------------------------
    @property
    def network(self):
        """The module whose memory format ``channels_last`` changes."""
        raise NotImplementedError

    def predict_x0(self, x, sigma_prime):
        """``x̂'_0`` (N, C, H, W) on [−1, 1] from ``x = x' + δ'``.

        A stochastic backend also takes ``noise_bases`` (one seed base per
        row, see :meth:`noise_bases`)."""
        raise NotImplementedError

    def noise_bases(self, x_noisy):
        """Per-row seed bases of a stochastic denoiser; ``None`` (the
        default): the denoiser draws no noise."""
        return None

    # -- interface ----------------------------------------------------------
    def _context(self, device):
        if self.autocast is None:
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=self.autocast)

    def _prepare(self):
        if self.channels_last and not self._memory_format_set:
            # outside inference mode: the parameters must stay trainable
            with torch.inference_mode(False), torch.no_grad():
                self.network.to(memory_format=torch.channels_last)
            self._memory_format_set = True

    def check_input(self, x):
        if x.dim() != 4:
            raise DataError(f'{type(self).__name__}.denoise expects images '
                            f'(N, C, H, W), got shape {tuple(x.shape)}')
        if self.size_multiple is not None:
            if x.shape[-2] % self.size_multiple or \
                    x.shape[-1] % self.size_multiple:
                raise DataError(
                    f'{type(self).__name__}: image sides must be multiples '
                    f'of {self.size_multiple} (the UNet\'s downsampling), '
                    f'got {x.shape[-2]}x{x.shape[-1]}; resize or crop the '
                    'dataset (test_dataloader.dataset)')
        elif self.output_size is not None and \
                tuple(x.shape[-2:]) != (self.output_size, ) * 2:
            raise DataError(
                f'{type(self).__name__}: the network takes '
                f'{self.output_size}x{self.output_size} images, got '
                f'{x.shape[-2]}x{x.shape[-1]}; resize the dataset '
                f'(test_dataloader.dataset) to the denoiser\'s image_size')

    @torch.no_grad()
    def denoise(self, x_noisy, sigma):
        """``x̂ = D(x + δ; σ)`` on [0, 1], one batched network call.

        Args:
            x_noisy (Tensor): ``(N, C, H, W)`` noisy images ``x + δ``.
            sigma (float): σ of δ on the [0, 1] scale; ``0`` returns the
                input unchanged (clipped to [0, 1]).
        """
        return self.denoise_differentiable(x_noisy, sigma)

    def denoise_differentiable(self, x_noisy, sigma):
        """:meth:`denoise` with gradients to the network (fine-tuning)."""
        check_denoise_sigma(sigma)
        self.check_input(x_noisy)
        if sigma == 0:
            return x_noisy.float().clamp(0, 1)
        self._prepare()
        out_dtype = torch.float32
        x = x_noisy.float() * 2 - 1
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        step = self.max_batch or x.shape[0]
        bases = self.noise_bases(x_noisy)
        outs = []
        with self._context(x.device):
            for start in range(0, x.shape[0], step):
                extra = {} if bases is None else dict(
                    noise_bases=bases[start:start + step])
                outs.append(self.predict_x0(x[start:start + step],
                                            2.0 * float(sigma),
                                            **extra).float())
        x0 = outs[0] if len(outs) == 1 else torch.cat(outs)
        if self.clip_denoised:
            x0 = x0.clamp(-1, 1)
        return ((x0 + 1) / 2).to(out_dtype)

    def forward(self, x_noisy, sigma):
        return self.denoise(x_noisy, sigma)


class DiscreteDiffusionDenoiser(OneShotDenoiser):
    """A denoiser from a T-step Gaussian diffusion (DDPM/iDDPM/ADM).

    One-shot (default): t is the first step with ``√((1−ᾱ_t)/ᾱ_t) ≥ σ'``,
    the network sees ``x_t = √ᾱ_t (x' + δ')`` and
    ``x̂'_0 = (x_t − √(1−ᾱ_t) ε_θ(x_t, t)) / √ᾱ_t``.

    ``multistep=True`` instead runs the ancestral sampler ``p(x_{s−1} |
    x_s)`` for s = t−1, …, 0 from ``x_t`` and returns its last sample, as the
    reference's ``denoise(..., multistep=True)`` does (t network calls and
    fresh noise at every step). The noise of a row at step s is drawn from
    its own generator, seeded ``base + s`` with ``base = blake2b(seed, the
    row's input bits)`` (:func:`row_noise_bases`): in certification a row
    is the draw ``i`` of image ``b``, so its noise is a function of (seed,
    image index, draw) and never of the batch it shares.

    Args:
        betas (array): β of the schedule the network was trained on.
        prediction_type (str): what the network predicts in its first C
            channels: ``'epsilon'``, ``'sample'`` (x_0) or
            ``'v_prediction'``. A second set of C channels (learned Σ, the
            interpolation v of iDDPM) is ignored by the one-shot step.
        multistep (bool): the reference's multi-step option.
        seed (int): seed of the ``multistep`` noise.
        **kwargs: see :class:`OneShotDenoiser`.
    """

    def __init__(self, betas, prediction_type='epsilon', multistep=False,
                 seed=0, **kwargs):
        super().__init__(**kwargs)
        if prediction_type not in ('epsilon', 'sample', 'v_prediction'):
            raise ConfigError("denoiser.prediction_type must be 'epsilon', "
                              f"'sample' or 'v_prediction', got "
                              f'{prediction_type!r}')
        self.diffusion = GaussianDiffusion(betas)
        self.alphas_cumprod = self.diffusion.alphas_cumprod
        self.num_timesteps = self.diffusion.num_timesteps
        self.prediction_type = prediction_type
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ConfigError(f'denoiser.seed must be an int, got {seed!r}')
        self.multistep = bool(multistep)
        self.seed = int(seed)
        self._t_cache = {}

    def model_output(self, x_t, t):
        """Raw network output ``(N, C or 2C, H, W)`` at step indices t."""
        raise NotImplementedError

    def timestep(self, sigma_prime):
        """Matched step t (cached per σ')."""
        if sigma_prime not in self._t_cache:
            self._t_cache[sigma_prime] = match_timestep(
                self.alphas_cumprod, sigma_prime, key='sigma')
        return self._t_cache[sigma_prime]

    def _eps_x0(self, out, x_t, t):
        """(ε̂, x̂'_0) from the first C output channels."""
        c = x_t.shape[1]
        pred = out[:, :c].float()
        x_t = x_t.float()
        a = torch.from_numpy(self.alphas_cumprod).to(x_t.device)[t]
        a = a.to(torch.float32).view(-1, 1, 1, 1)
        sa, s1a = a.sqrt(), (1 - a).sqrt()
        if self.prediction_type == 'epsilon':
            # the official predict_xstart_from_eps, float64 constants: the
            # released models' x̂_0 bit for bit
            eps = pred
            x0 = self.diffusion.predict_x0(x_t, t, eps)
        elif self.prediction_type == 'sample':
            x0 = pred
            eps = (x_t - sa * x0) / s1a
        else:  # v = √ᾱ ε − √(1−ᾱ) x_0
            x0 = sa * x_t - s1a * pred
            eps = s1a * x_t + sa * pred
        return eps, x0

    def noise_bases(self, x_noisy):
        return row_noise_bases(x_noisy, self.seed) if self.multistep \
            else None

    def predict_x0(self, x, sigma_prime, noise_bases=None):
        t = self.timestep(sigma_prime)
        x_t = x * ddpm_input_scale(self.alphas_cumprod, t)
        steps = torch.full((x.shape[0], ), t, dtype=torch.long,
                           device=x.device)
        if not self.multistep:
            return self._eps_x0(self.model_output(x_t, steps), x_t, steps)[1]
        if noise_bases is None:
            noise_bases = row_noise_bases(x, self.seed)
        return self._ancestral(x_t, t, noise_bases)

    @staticmethod
    def _row_noise(like, bases, step):
        """``(N, C, H, W)`` standard normal noise, row r from a generator
        seeded ``bases[r] + step`` (one fixed-shape draw per row)."""
        gen = torch.Generator(like.device)
        noise = torch.empty(like.shape, dtype=torch.float32,
                            device=like.device)
        for r, base in enumerate(bases):
            gen.manual_seed((base + step) & _MASK64)
            noise[r].normal_(generator=gen)
        return noise

    def _ancestral(self, x_t, t, bases):
        """The reference's loop: ``p_sample`` at s = t−1, …, 0 (its range(t)
        starts one step below the matched t), clip x̂_0, add noise for
        s > 0 (per row, see :meth:`_row_noise`)."""
        out = x_t
        n = x_t.shape[0]
        c = x_t.shape[1]
        for s in range(t - 1, -1, -1):
            steps = torch.full((n, ), s, dtype=torch.long, device=x_t.device)
            raw = self.model_output(out, steps).float()
            eps, _ = self._eps_x0(raw, out, steps)
            model_out = eps if raw.shape[1] == c else torch.cat(
                [eps, raw[:, c:]], dim=1)
            mean, log_var, _, _ = self.diffusion.p_mean_variance(
                model_out, out.float(), steps, clip_denoised=True)
            if s == 0:
                out = mean
                break
            noise = self._row_noise(out, bases, s)
            out = mean + (0.5 * log_var).exp() * noise
        return out
