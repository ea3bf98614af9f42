"""The ADM UNet of improved-diffusion (Nichol & Dhariwal 2021) and
guided-diffusion (Dhariwal & Nichol 2021).

Module and parameter names follow the official ``unet.py`` so that the
released checkpoints (``cifar10_uncond_50M_500K.pt``,
``256x256_diffusion_uncond.pt``, ...) load with strict key checking.
Attention runs through ``scaled_dot_product_attention``; the two official
head layouts are kept apart because they read different channels of the
same ``qkv`` projection:

* legacy (improved-diffusion, guided-diffusion's default): ``qkv`` is
  ``(N, H·3·C, T)``, heads first, then q, k, v inside each head;
* new order (``use_new_attention_order``): ``(N, 3·H·C, T)``, q, k, v first.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError

#: Flags of the released checkpoints (the official READMEs' MODEL_FLAGS).
ADM_ARCHS = {
    # improved-diffusion, CIFAR-10 unconditional, L_hybrid, cosine, T=4000
    'improved-diffusion-cifar10-uncond': dict(
        image_size=32, model_channels=128, num_res_blocks=3,
        attention_resolutions=(16, 8), channel_mult=(1, 2, 2, 2),
        num_heads=4, dropout=0.3, learn_sigma=True,
        use_scale_shift_norm=True, resblock_updown=False,
        use_new_attention_order=False),
    # guided-diffusion, ImageNet 256x256 unconditional, linear, T=1000
    'guided-diffusion-256-uncond': dict(
        image_size=256, model_channels=256, num_res_blocks=2,
        attention_resolutions=(32, 16, 8), channel_mult=(1, 1, 2, 2, 4, 4),
        num_head_channels=64, learn_sigma=True, use_scale_shift_norm=True,
        resblock_updown=True, use_new_attention_order=False),
}

#: guided-diffusion's default channel multipliers per image size
#: (improved-diffusion's 32x32 entry added).
DEFAULT_CHANNEL_MULT = {512: (0.5, 1, 1, 2, 2, 4, 4), 256: (1, 1, 2, 2, 4, 4),
                        128: (1, 1, 2, 3, 4), 64: (1, 2, 3, 4),
                        32: (1, 2, 2, 2)}


def timestep_embedding(t, dim, max_period=10000):
    """Sinusoidal embedding ``[cos(t·f_i), sin(t·f_i)]`` with
    ``f_i = max_period^(−i/half)`` (t may be fractional)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(
        half, dtype=torch.float32, device=t.device) / half)
    args = t[:, None].float() * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


def normalization(channels):
    return nn.GroupNorm(32, channels)


class TimestepEmbedSequential(nn.Sequential):
    """Passes the embedding to the children that take one."""

    def forward(self, x, emb):
        for layer in self:
            x = layer(x, emb) if isinstance(layer, ResBlock) else layer(x)
        return x


class Upsample(nn.Module):

    def __init__(self, channels, use_conv, out_channels=None):
        super().__init__()
        self.out_channels = out_channels or channels
        if use_conv:
            self.conv = nn.Conv2d(channels, self.out_channels, 3, padding=1)
        self.use_conv = use_conv

    def forward(self, x):
        x = F.interpolate(x, scale_factor=2, mode='nearest')
        return self.conv(x) if self.use_conv else x


class Downsample(nn.Module):

    def __init__(self, channels, use_conv, out_channels=None):
        super().__init__()
        out_channels = out_channels or channels
        if use_conv:
            self.op = nn.Conv2d(channels, out_channels, 3, stride=2,
                                padding=1)
        else:
            self.op = nn.AvgPool2d(kernel_size=2, stride=2)

    def forward(self, x):
        return self.op(x)


class ResBlock(nn.Module):
    """GroupNorm–SiLU–conv, timestep FiLM (scale-shift norm or addition),
    GroupNorm–SiLU–dropout–conv, plus a skip; optionally up/down-sampling
    inside (BigGAN style, ``resblock_updown``)."""

    def __init__(self, channels, emb_channels, dropout, out_channels=None,
                 use_scale_shift_norm=False, up=False, down=False):
        super().__init__()
        self.out_channels = out_channels or channels
        self.use_scale_shift_norm = use_scale_shift_norm
        self.in_layers = nn.Sequential(
            normalization(channels), nn.SiLU(),
            nn.Conv2d(channels, self.out_channels, 3, padding=1))
        self.updown = up or down
        if up:
            self.h_upd = Upsample(channels, False)
            self.x_upd = Upsample(channels, False)
        elif down:
            self.h_upd = Downsample(channels, False)
            self.x_upd = Downsample(channels, False)
        else:
            self.h_upd = self.x_upd = nn.Identity()
        self.emb_layers = nn.Sequential(
            nn.SiLU(),
            nn.Linear(emb_channels, 2 * self.out_channels
                      if use_scale_shift_norm else self.out_channels))
        self.out_layers = nn.Sequential(
            normalization(self.out_channels), nn.SiLU(),
            nn.Dropout(p=dropout),
            nn.Conv2d(self.out_channels, self.out_channels, 3, padding=1))
        nn.init.zeros_(self.out_layers[-1].weight)
        nn.init.zeros_(self.out_layers[-1].bias)
        if self.out_channels == channels:
            self.skip_connection = nn.Identity()
        else:
            self.skip_connection = nn.Conv2d(channels, self.out_channels, 1)

    def forward(self, x, emb):
        if self.updown:
            h = self.in_layers[:-1](x)
            h = self.in_layers[-1](self.h_upd(h))
            x = self.x_upd(x)
        else:
            h = self.in_layers(x)
        emb_out = self.emb_layers(emb).to(h.dtype)[..., None, None]
        if self.use_scale_shift_norm:
            scale, shift = emb_out.chunk(2, dim=1)
            h = self.out_layers[0](h) * (1 + scale) + shift
            h = self.out_layers[1:](h)
        else:
            h = self.out_layers(h + emb_out)
        return self.skip_connection(x) + h


class AttentionBlock(nn.Module):
    """Self-attention over the H·W positions (1-D convs ``qkv`` and
    ``proj_out`` as in the official code), computed with SDPA."""

    def __init__(self, channels, num_heads=1, num_head_channels=-1,
                 use_new_attention_order=False):
        super().__init__()
        if num_head_channels == -1:
            self.num_heads = num_heads
        else:
            if channels % num_head_channels:
                raise ConfigError(
                    f'unet.num_head_channels={num_head_channels} does not '
                    f'divide the {channels} channels of an attention block')
            self.num_heads = channels // num_head_channels
        self.new_order = use_new_attention_order
        self.norm = normalization(channels)
        self.qkv = nn.Conv1d(channels, channels * 3, 1)
        self.proj_out = nn.Conv1d(channels, channels, 1)
        nn.init.zeros_(self.proj_out.weight)
        nn.init.zeros_(self.proj_out.bias)

    def forward(self, x):
        b, c, *spatial = x.shape
        x = x.reshape(b, c, -1)
        qkv = self.qkv(self.norm(x))
        n, heads = qkv.shape[-1], self.num_heads
        ch = c // heads
        # token-major (B, ·, T, C) copies: SDPA's fused CPU/GPU kernels
        # need unit stride in C (transposed views fall back to the slow
        # math path)
        if self.new_order:
            q, k, v = qkv.reshape(b, 3 * heads, ch, n).transpose(
                -1, -2).contiguous().view(b, 3, heads, n, ch).unbind(1)
        else:
            q, k, v = qkv.reshape(b, heads, 3 * ch, n).transpose(
                -1, -2).contiguous().split(ch, dim=-1)
        # softmax(q·k/√C) v, the official q/√√C · k/√√C
        a = F.scaled_dot_product_attention(q, k, v)
        h = self.proj_out(a.transpose(-1, -2).reshape(b, c, n))
        return (x + h).reshape(b, c, *spatial)


@MODELS.register_module()
class ADMUNet(nn.Module):
    """ε_θ(x_t, t) (+ the learned-Σ interpolation v) of improved/guided
    diffusion.

    Args:
        arch (str, optional): a name of :data:`ADM_ARCHS`; explicit
            arguments override it.
        image_size (int): training resolution.
        in_channels (int): 3 for RGB.
        model_channels (int): base width (``--num_channels``).
        num_res_blocks (int): residual blocks per level.
        attention_resolutions (Sequence[int] | str): *resolutions* with
            attention, as the official flag (``"16,8"`` at 32², ``"32,16,8"``
            at 256²).
        channel_mult (Sequence[float], optional): per-level width
            multipliers; default by image size as the official scripts.
        learn_sigma (bool): 2·in_channels outputs (ε and v).
        num_classes (int, optional): class-conditional label embedding.
        num_heads, num_head_channels, num_heads_upsample: attention heads
            (``num_head_channels`` wins when set).
        use_scale_shift_norm, resblock_updown: as the official flags.
        use_new_attention_order, dropout, conv_resample: as the official
            flags.
    """

    def __init__(self, arch=None, **kwargs):
        super().__init__()
        if arch is not None:
            if arch not in ADM_ARCHS:
                raise ConfigError(f'unet.arch {arch!r} is unknown; choose '
                                  f'one of {sorted(ADM_ARCHS)}')
            kwargs = dict(ADM_ARCHS[arch], **kwargs)
        self._build(**kwargs)

    def _build(self, image_size, model_channels, num_res_blocks,
               attention_resolutions, in_channels=3, channel_mult=None,
               learn_sigma=False, out_channels=None, num_classes=None,
               dropout=0.0, conv_resample=True, num_heads=1,
               num_head_channels=-1, num_heads_upsample=-1,
               use_scale_shift_norm=False, resblock_updown=False,
               use_new_attention_order=False):
        if isinstance(attention_resolutions, str):
            attention_resolutions = [
                int(r) for r in attention_resolutions.split(',') if r]
        if channel_mult is None:
            if image_size not in DEFAULT_CHANNEL_MULT:
                raise ConfigError(f'unet.channel_mult is required for '
                                  f'image_size {image_size}')
            channel_mult = DEFAULT_CHANNEL_MULT[image_size]
        if num_heads_upsample == -1:
            num_heads_upsample = num_heads
        attention_ds = {image_size // int(r) for r in attention_resolutions}
        self.image_size = self.input_size = image_size
        self.in_channels = in_channels
        self.model_channels = model_channels
        self.learn_sigma = learn_sigma
        self.out_channels = out_channels or (in_channels * 2 if learn_sigma
                                             else in_channels)
        self.num_classes = num_classes
        self.channel_mult = tuple(channel_mult)
        emb_dim = model_channels * 4

        def res(ch, out, **kw):
            return ResBlock(ch, emb_dim, dropout, out_channels=out,
                            use_scale_shift_norm=use_scale_shift_norm, **kw)

        def attn(ch, heads):
            return AttentionBlock(ch, heads, num_head_channels,
                                  use_new_attention_order)

        self.time_embed = nn.Sequential(
            nn.Linear(model_channels, emb_dim), nn.SiLU(),
            nn.Linear(emb_dim, emb_dim))
        if num_classes is not None:
            self.label_emb = nn.Embedding(num_classes, emb_dim)
        ch = input_ch = int(channel_mult[0] * model_channels)
        self.input_blocks = nn.ModuleList([TimestepEmbedSequential(
            nn.Conv2d(in_channels, ch, 3, padding=1))])
        chans, ds = [ch], 1
        for level, mult in enumerate(channel_mult):
            for _ in range(num_res_blocks):
                layers = [res(ch, int(mult * model_channels))]
                ch = int(mult * model_channels)
                if ds in attention_ds:
                    layers.append(attn(ch, num_heads))
                self.input_blocks.append(TimestepEmbedSequential(*layers))
                chans.append(ch)
            if level != len(channel_mult) - 1:
                self.input_blocks.append(TimestepEmbedSequential(
                    res(ch, ch, down=True) if resblock_updown else
                    Downsample(ch, conv_resample, ch)))
                chans.append(ch)
                ds *= 2
        self.middle_block = TimestepEmbedSequential(
            res(ch, ch), attn(ch, num_heads), res(ch, ch))
        self.output_blocks = nn.ModuleList()
        for level, mult in list(enumerate(channel_mult))[::-1]:
            for i in range(num_res_blocks + 1):
                layers = [res(ch + chans.pop(), int(model_channels * mult))]
                ch = int(model_channels * mult)
                if ds in attention_ds:
                    layers.append(attn(ch, num_heads_upsample))
                if level and i == num_res_blocks:
                    layers.append(res(ch, ch, up=True) if resblock_updown
                                  else Upsample(ch, conv_resample, ch))
                    ds //= 2
                self.output_blocks.append(TimestepEmbedSequential(*layers))
        self.out = nn.Sequential(
            normalization(ch), nn.SiLU(),
            nn.Conv2d(input_ch, self.out_channels, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, x, timesteps, y=None):
        """``(N, out_channels, H, W)`` for images x on [−1, 1] at (possibly
        rescaled) timesteps; ``y`` only for class-conditional models."""
        if (y is not None) != (self.num_classes is not None):
            raise ConfigError('ADMUNet: pass labels y if and only if '
                              'unet.num_classes is set')
        emb = self.time_embed(timestep_embedding(timesteps,
                                                 self.model_channels))
        if y is not None:
            emb = emb + self.label_emb(y)
        hs, h = [], x
        for module in self.input_blocks:
            h = module(h, emb)
            hs.append(h)
        h = self.middle_block(h, emb)
        for module in self.output_blocks:
            h = module(torch.cat([h, hs.pop()], dim=1), emb)
        return self.out(h)
