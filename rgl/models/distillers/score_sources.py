"""Score sources: diffusion models that score noisy latents for distillation.

A score source returns, for a batch of ``n`` particles at one timestep t,
the per-particle score ``ε̂_tgt − ε̂_src`` (the direction the distiller
descends), and carries the noise schedule (ᾱ_t, w(t) = 1 − ᾱ_t) and the
VAE that maps images to latents and back. Pipelines load from local
folders only, with ``from_pretrained(local_dir)``.
"""
import json
import os.path as osp
from contextlib import nullcontext

import torch
from torch import nn

from rgl.registry import MODELS
from rgl.utils.errors import CheckpointError, ConfigError

DTYPES = dict(fp32=None, fp16=torch.float16, bf16=torch.bfloat16)


def load_local_pipeline(folder, expected, owner, torch_dtype=None):
    """``expected.from_pretrained(folder)`` for a local diffusers folder.

    Raises:
        CheckpointError: the folder is missing, has no ``model_index.json``
            or holds another pipeline class; the message names the folder.
    """
    folder = str(folder)
    index = osp.join(folder, 'model_index.json')
    if not osp.isdir(folder):
        raise CheckpointError(f'{owner}.pretrained: pipeline folder {folder} '
                              'does not exist (weights load from local '
                              'folders only)')
    if not osp.isfile(index):
        raise CheckpointError(f'{owner}.pretrained: {folder} has no '
                              'model_index.json: not a diffusers pipeline '
                              'folder')
    with open(index) as f:
        found = json.load(f).get('_class_name')
    names = (expected.__name__, ) + tuple(
        getattr(expected, '_rgl_compatible', ()))
    if found not in names:
        raise CheckpointError(f'{owner}.pretrained: {folder} holds a '
                              f'{found}, expected {expected.__name__}')
    kwargs = {} if torch_dtype is None else dict(torch_dtype=torch_dtype)
    return expected.from_pretrained(folder, safety_checker=None,
                                    requires_safety_checker=False, **kwargs)


class BaseScoreSource(nn.Module):
    """Shared parts of the score sources: text and VAE encoders, the noise
    schedule, autocast and the VAE offload.

    Args:
        pretrained (str): a local diffusers pipeline folder.
        guidance_scale (float): the text guidance scale s_T.
        dtype (str): ``'fp32'``, ``'fp16'`` or ``'bf16'``: autocast of the
            UNet and text encoder (weights stay float32; pass
            ``weights_dtype`` to store them in half precision on a GPU).
        weights_dtype (str): storage dtype of the UNet, text encoder and
            VAE weights, ``'fp32'`` by default.
        vae_offload (bool): keep the VAE on the CPU and move it to the
            latents' device only to encode or decode.
    """

    def __init__(self, pretrained, guidance_scale=7.5, dtype='fp32',
                 weights_dtype='fp32', vae_offload=False):
        super().__init__()
        owner = type(self).__name__
        for key, value in (('dtype', dtype), ('weights_dtype',
                                              weights_dtype)):
            if value not in DTYPES:
                raise ConfigError(f'{owner}.{key} must be one of '
                                  f'{sorted(DTYPES)}, got {value!r}')
        pipe = load_local_pipeline(pretrained, self.pipeline_class(), owner,
                                   DTYPES[weights_dtype])
        self.pretrained = str(pretrained)
        self.guidance_scale = float(guidance_scale)
        self.autocast_dtype = DTYPES[dtype]
        self.unet = pipe.unet
        self.text_encoder = pipe.text_encoder
        self.tokenizer = pipe.tokenizer
        self.vae_offload = bool(vae_offload)
        self._offloaded = {}
        if self.vae_offload:
            self._offloaded['vae'] = pipe.vae.eval().requires_grad_(False)
        else:
            self.vae = pipe.vae
        self.vae_scale_factor = 2**(len(pipe.vae.config.block_out_channels)
                                    - 1)
        self.latent_scale = float(pipe.vae.config.scaling_factor)
        self.latent_channels = int(pipe.unet.config.out_channels)
        sched = pipe.scheduler.config
        self.num_train_timesteps = int(sched.num_train_timesteps)
        from diffusers import DDIMScheduler
        ddim = DDIMScheduler.from_config(sched)
        self.register_buffer('alphas_cumprod',
                             ddim.alphas_cumprod.float().clone(),
                             persistent=False)
        for m in (self.unet, self.text_encoder, self.vae_module):
            m.eval().requires_grad_(False)
        self._prompts = None

    @staticmethod
    def pipeline_class():
        """The diffusers pipeline class the folder must hold."""
        raise NotImplementedError

    @property
    def vae_module(self):
        if self.vae_offload:
            return self._offloaded['vae']
        return self.vae

    @property
    def device(self):
        return self.alphas_cumprod.device

    def autocast(self):
        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    # --- schedule ---------------------------------------------------------
    def weight(self, t):
        """w(t) = 1 − ᾱ_t."""
        return 1 - self.alphas_cumprod[t]

    def add_noise(self, x0, noise, t):
        """x_t = sqrt(ᾱ_t) x_0 + sqrt(1 − ᾱ_t) ε (t a scalar step)."""
        a = self.alphas_cumprod[t]
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    # --- text and images --------------------------------------------------
    @torch.no_grad()
    def encode_text(self, prompts):
        """Text-encoder hidden states ``(len(prompts), L, D)``."""
        tok = self.tokenizer(list(prompts), padding='max_length',
                             max_length=self.tokenizer.model_max_length,
                             truncation=True, return_tensors='pt')
        with self.autocast():
            out = self.text_encoder(tok.input_ids.to(self.device))[0]
        return out.float()

    def _vae_on(self, device):
        vae = self.vae_module
        if self.vae_offload:
            vae.to(device)
        return vae

    def _vae_off(self):
        if self.vae_offload:
            self._offloaded['vae'].to('cpu')

    def check_image_size(self, height, width):
        f = self.vae_scale_factor
        if height % f or width % f:
            raise ConfigError(f'image size {height}x{width} is not a '
                              f'multiple of the VAE factor {f}')

    @torch.no_grad()
    def encode(self, images):
        """Images in [0, 1] ``(n, 3, H, W)`` → scaled latents (the
        posterior mean times the VAE's scaling factor)."""
        self.check_image_size(*images.shape[-2:])
        vae = self._vae_on(self.device)
        try:
            x = (images * 2 - 1).to(self.device, next(vae.parameters()).dtype)
            lat = vae.encode(x).latent_dist.mean
        finally:
            self._vae_off()
        return lat.float() * self.latent_scale

    @torch.no_grad()
    def decode(self, latents):
        """Scaled latents → images in [0, 1]."""
        vae = self._vae_on(self.device)
        try:
            z = (latents / self.latent_scale).to(
                self.device, next(vae.parameters()).dtype)
            img = vae.decode(z).sample
        finally:
            self._vae_off()
        return (img.float() / 2 + 0.5).clamp(0, 1)

    # --- prompts ----------------------------------------------------------
    def set_prompts(self, tgt_prompt, src_prompt='', neg_prompt=''):
        """Encode the prompts once. ``tgt_prompt`` may be a list: one
        prompt per particle, or P region prompts mixed per particle by the
        ``prompt_weights`` passed when scoring."""
        tgt = [tgt_prompt] if isinstance(tgt_prompt, str) else list(
            tgt_prompt)
        emb = self.encode_text(tgt + [src_prompt, neg_prompt])
        self._prompts = dict(tgt=emb[:len(tgt)], src=emb[-2:-1],
                             neg=emb[-1:])

    def _embeddings(self, n, prompt_weights=None):
        """Target, source and negative embeddings for ``n`` particles.

        The target is ``(n, L, D)``, one row per particle, or with
        ``prompt_weights`` ``(n, P)`` all P target prompts ``(P, L, D)``
        (region-wise prompts, mixed by the caller)."""
        if self._prompts is None:
            raise ConfigError(f'{type(self).__name__}: call set_prompts() '
                              'before scoring')
        p = self._prompts
        tgt = p['tgt']
        if prompt_weights is not None:
            if tuple(prompt_weights.shape) != (n, len(tgt)):
                raise ConfigError(
                    f'prompt_weights has shape {tuple(prompt_weights.shape)}'
                    f', expected ({n}, {len(tgt)}): particles × prompts')
        elif len(tgt) not in (1, n):
            raise ConfigError(f'{len(tgt)} target prompts for {n} particles'
                              ': give one, one per particle, or '
                              'prompt_weights')
        else:
            tgt = tgt.expand(n, -1, -1)
        return (tgt, p['src'].expand(n, -1, -1), p['neg'].expand(n, -1, -1))

    def _text_rows(self, tgt, n, prompt_weights):
        """Conditions of the text branch: ``n`` rows, or ``n·P`` rows
        (prompt-major) when mixing P prompts."""
        if prompt_weights is None:
            return tgt
        return tgt.repeat_interleave(n, 0)

    @staticmethod
    def _mix(eps_text, n, prompt_weights):
        """Σ_p w_ip ε(·, c_p): the region-wise mixture of the text branch
        (the image and unconditional branches do not depend on c_T)."""
        if prompt_weights is None:
            return eps_text
        e = eps_text.view(prompt_weights.shape[1], n, *eps_text.shape[1:])
        ones = [1] * (e.dim() - 2)
        w = prompt_weights.to(e).T.reshape(*e.shape[:2], *ones)
        return (w * e).sum(0)

    def _unet(self, x, t, cond):
        ts = torch.full((x.shape[0], ), int(t), device=x.device)
        with torch.no_grad(), self.autocast():
            dt = next(self.unet.parameters()).dtype
            eps = self.unet(x.to(dt), ts, encoder_hidden_states=cond.to(dt)
                            ).sample
        return eps.float()


@MODELS.register_module()
class InstructPix2PixScore(BaseScoreSource):
    """CSD-Edit's score: InstructPix2Pix with three-way guidance and the
    source baseline subtracted.

    With c_I the source latent (the image condition), c_T a prompt and ∅ the
    negative prompt / zero image::

        ε̂(x_t; c_T) = ε(x_t, ∅, ∅) + s_T·[ε(x_t, c_I, c_T) − ε(x_t, c_I, ∅)]
                                     + s_I·[ε(x_t, c_I, ∅) − ε(x_t, ∅, ∅)],

    and the score of particle i is ε̂(x̃_t; c_tgt) − ε̂(x^src_t; c_src), where
    x̃_t and x^src_t are the target and source latents noised with the same ε.
    All 3 branches × {target, source} × n particles go through the UNet in
    one batch of 6n (with P region prompts, (P + 5)·n: only the
    text-and-image branch depends on the prompt).

    Args:
        pretrained (str): a local ``StableDiffusionInstructPix2PixPipeline``
            folder.
        guidance_scale (float): s_T (CSD default 7.5).
        image_guidance_scale (float): s_I (CSD default 5.0; 1.5 for video).
        **kwargs: ``dtype``, ``weights_dtype``, ``vae_offload`` of
            :class:`BaseScoreSource`.
    """

    def __init__(self, pretrained, guidance_scale=7.5,
                 image_guidance_scale=5.0, **kwargs):
        super().__init__(pretrained, guidance_scale=guidance_scale, **kwargs)
        self.image_guidance_scale = float(image_guidance_scale)
        if self.unet.config.in_channels != 2 * self.latent_channels:
            raise CheckpointError(
                f'InstructPix2PixScore.pretrained: the UNet in '
                f'{self.pretrained} takes {self.unet.config.in_channels} '
                f'channels, expected {2 * self.latent_channels} (noisy '
                'latent + image latent)')

    @staticmethod
    def pipeline_class():
        from diffusers import StableDiffusionInstructPix2PixPipeline
        return StableDiffusionInstructPix2PixPipeline

    def forward(self, noisy, t, noisy_src, src, noise=None,
                prompt_weights=None):
        """Scores ``(n, C, h, w)`` of the noisy target latents ``noisy``.

        Args:
            noisy (Tensor): x̃_t, the noisy target latents.
            t (int): the timestep.
            noisy_src (Tensor): x^src_t, the source latents with the same ε.
            src (Tensor): the clean source latents (image condition c_I).
            noise (Tensor, optional): unused (the baseline replaces ε).
            prompt_weights (Tensor, optional): ``(n, P)`` weights of the P
                target prompts per particle (rows summing to 1): region-wise
                prompts, ε(x̃_t, c_I, c_T) replaced by Σ_p w_ip ε(x̃_t, c_I,
                c_p).
        """
        n = noisy.shape[0]
        tgt_c, src_c, neg_c = self._embeddings(n, prompt_weights)
        text_c = self._text_rows(tgt_c, n, prompt_weights)
        k = len(text_c) // n  # target prompts evaluated per particle
        zero = torch.zeros_like(src)
        # rows: tgt text+image (×k), tgt image, tgt uncond,
        #       src text+image, src image, src uncond
        x = torch.cat([noisy] * (k + 2) + [noisy_src] * 3)
        img = torch.cat([src] * (k + 1) + [zero, src, src, zero])
        cond = torch.cat([text_c, neg_c, neg_c, src_c, neg_c, neg_c])
        eps = self._unet(torch.cat([x, img], 1), t, cond)
        e_ti = self._mix(eps[:k * n], n, prompt_weights)
        e_i, e_u, s_ti, s_i, s_u = eps[k * n:].chunk(5)
        sT, sI = self.guidance_scale, self.image_guidance_scale
        tgt = e_u + sT * (e_ti - e_i) + sI * (e_i - e_u)
        base = s_u + sT * (s_ti - s_i) + sI * (s_i - s_u)
        return tgt - base


@MODELS.register_module()
class StableDiffusionScore(BaseScoreSource):
    """Text-to-image score distillation (SDS, Poole et al., 2022) with a
    Stable Diffusion UNet: ε̂(x_t; c) − ε, with classifier-free guidance
    ε̂ = ε(x_t, ∅) + s·[ε(x_t, c) − ε(x_t, ∅)]. The injected noise ε plays
    the source term of ε̂_tgt − ε̂_src. Both branches of all particles run
    in one UNet batch of 2n.

    Args:
        pretrained (str): a local ``StableDiffusionPipeline`` folder.
        guidance_scale (float): s (SDS uses large scales, e.g. 100).
        **kwargs: ``dtype``, ``weights_dtype``, ``vae_offload`` of
            :class:`BaseScoreSource`.
    """

    def __init__(self, pretrained, guidance_scale=7.5, **kwargs):
        super().__init__(pretrained, guidance_scale=guidance_scale, **kwargs)
        if self.unet.config.in_channels != self.latent_channels:
            raise CheckpointError(
                f'StableDiffusionScore.pretrained: the UNet in '
                f'{self.pretrained} takes {self.unet.config.in_channels} '
                f'channels, expected {self.latent_channels}')

    @staticmethod
    def pipeline_class():
        from diffusers import StableDiffusionPipeline
        return StableDiffusionPipeline

    def forward(self, noisy, t, noisy_src=None, src=None, noise=None,
                prompt_weights=None):
        """SDS scores ``(n, C, h, w)`` of ``noisy`` = x_t made with
        ``noise`` = ε (the source latents are unused); ``prompt_weights``
        ``(n, P)`` mixes the conditional branch over P target prompts."""
        if noise is None:
            raise ConfigError('StableDiffusionScore needs the noise ε')
        n = noisy.shape[0]
        tgt_c, _, neg_c = self._embeddings(n, prompt_weights)
        text_c = self._text_rows(tgt_c, n, prompt_weights)
        k = len(text_c) // n
        eps = self._unet(torch.cat([noisy] * (k + 1)), t,
                         torch.cat([text_c, neg_c]))
        e_c = self._mix(eps[:k * n], n, prompt_weights)
        e_u = eps[k * n:]
        return e_u + self.guidance_scale * (e_c - e_u) - noise
