"""Throughput of diffusion denoised smoothing (DDS): rgl's batched
``SmoothedClassifier`` + ``ADMDenoiser`` against the reference loop.

    python tools/benchmarks/benchmark_dds.py [--size 32|256] [--n 1000]
        [--n0 100] [--images 4] [--batch 1000] [--repeats 3] [--threads 2]

The reference loop is re-implemented here as in ethz-spylab's
``certify.py``/``core.py``/``DRM.py``: one image at a time, batches of
``x.repeat`` copies, then per batch ``x' = 2x − 1``, a ``p_sample``-style
step (one UNet call, the posterior mean and variance, a fresh noise draw
for the discarded sample) whose clipped ``pred_xstart`` goes to the
classifier, and a Python count of the predictions on the host.

The reference's UNet computes attention as the official ``unet.py``
(einsum products) and rgl's with SDPA's fused kernel; otherwise both
paths use the same UNet and classifier (random weights: throughput
does not depend on them) and the same Gaussian draws: the reference takes
its noise from the stream rgl draws (n0 draws of every image, then n), so
with fp32 both must reach identical decisions (class and radius), which is
checked. Timings alternate reference / rgl variants over ``--repeats``
rounds and report medians in certified images per second.
"""
import argparse
import copy
import functools
import statistics
import time

import numpy as np
import torch
from scipy.stats import beta, norm

import rgl  # noqa: F401

SETTINGS = {
    # small ADM UNets of the two released families, random weights
    32: dict(unet=dict(image_size=32, model_channels=32, num_res_blocks=1,
                       attention_resolutions='16', channel_mult=(1, 2),
                       num_heads=4, learn_sigma=True,
                       use_scale_shift_norm=True),
             num_timesteps=4000, noise_schedule='cosine',
             rescale_timesteps=True),
    256: dict(unet=dict(image_size=256, model_channels=32, num_res_blocks=1,
                        attention_resolutions='32,16,8',
                        channel_mult=(1, 1, 2, 2, 4, 4), num_head_channels=32,
                        learn_sigma=True, use_scale_shift_norm=True,
                        resblock_updown=True),
              num_timesteps=1000, noise_schedule='linear',
              rescale_timesteps=False),
}


def build(size, seed=0):
    from rgl.registry import MODELS
    torch.manual_seed(seed)
    s = SETTINGS[size]
    den = MODELS.build(dict(type='ADMDenoiser',
                            unet=dict(type='ADMUNet', **s['unet']),
                            num_timesteps=s['num_timesteps'],
                            noise_schedule=s['noise_schedule'],
                            rescale_timesteps=s['rescale_timesteps']))
    with torch.no_grad():  # non-zero outputs (the UNet inits its last
        for p in den.unet.parameters():  # layers to zero)
            if p.dim() > 1 and p.abs().sum() == 0:
                p.normal_(0, 0.02)
    clf = MODELS.build(dict(type='ImageClassifier', num_classes=10,
                            backbone=dict(type='SmallConvNet', in_channels=3,
                                          widths=(32, 64)),
                            mean=[0.5] * 3, std=[0.5] * 3)).eval()
    return den, clf


def reference_attention(block, x):
    """The official AttentionBlock's arithmetic (legacy head order): q and
    k scaled by C^(−1/4) each, einsum products, softmax in float32."""
    b, c, *spatial = x.shape
    x = x.reshape(b, c, -1)
    qkv = block.qkv(block.norm(x))
    n, heads = qkv.shape[-1], block.num_heads
    ch = c // heads
    q, k, v = qkv.reshape(b * heads, 3 * ch, n).split(ch, dim=1)
    scale = ch**-0.25
    w = torch.einsum('bct,bcs->bts', q * scale, k * scale)
    w = torch.softmax(w.float(), dim=-1).to(w.dtype)
    h = torch.einsum('bts,bcs->bct', w, v).reshape(b, -1, n)
    return (x + block.proj_out(h)).reshape(b, c, *spatial)


def with_reference_attention(den):
    """A copy of the denoiser whose UNet computes attention as the official
    code (same weights)."""
    from rgl.models.denoisers.adm_unet import AttentionBlock
    ref = copy.deepcopy(den)
    for m in ref.unet.modules():
        if isinstance(m, AttentionBlock):
            m.forward = functools.partial(reference_attention, m)
    return ref


class ReferenceDDS:
    """The reference's per-image DDS loop (see the module docstring)."""

    def __init__(self, den, clf, sigma, num_classes=10):
        den = with_reference_attention(den)
        self.den, self.clf, self.sigma, self.k = den, clf, sigma, num_classes
        self.t = den.timestep(2 * sigma)
        self.diffusion = den.diffusion

    def forward(self, noisy):
        """DRM.forward on images that already carry the smoothing noise."""
        x_in = noisy * 2 - 1
        n = x_in.shape[0]
        t = torch.full((n, ), self.t, dtype=torch.long)
        x_t = self.diffusion.sqrt_alphas_cumprod[self.t] * x_in
        x_t = x_t.float()
        out = self.den.model_output(x_t, t)
        mean, log_var, x0, _ = self.diffusion.p_mean_variance(
            out, x_t, t, clip_denoised=True)
        # p_sample's sample (discarded by the one-shot denoiser)
        nonzero = (t != 0).float().view(-1, 1, 1, 1)
        _ = mean + nonzero * torch.exp(0.5 * log_var) * torch.randn_like(x_t)
        return self.clf.logits((x0 + 1) / 2)

    def _count(self, arr):
        counts = np.zeros(self.k, dtype=int)
        for idx in arr:  # the reference counts one prediction at a time
            counts[idx] += 1
        return counts

    def sample(self, x, noise, batch):
        counts = np.zeros(self.k, dtype=int)
        for start in range(0, noise.shape[0], batch):
            z = noise[start:start + batch]
            copies = x.repeat((z.shape[0], 1, 1, 1))
            pred = self.forward(copies + z).argmax(1)
            counts += self._count(pred.cpu().numpy())
        return counts

    @torch.no_grad()
    def certify(self, x, noise0, noise, alpha, batch):
        c_hat = int(self.sample(x, noise0, batch).argmax())
        n = noise.shape[0]
        n_a = int(self.sample(x, noise, batch)[c_hat])
        p_a = beta.ppf(alpha, n_a, n - n_a + 1) if n_a > 0 else 0.0
        if p_a < 0.5:
            return -1, 0.0
        return c_hat, self.sigma * norm.ppf(p_a)


def reference_run(ref, x, args):
    """All images, with the noise stream of rgl's generator."""
    g = torch.Generator().manual_seed(args.seed)
    b, shape = x.shape[0], x.shape[1:]
    s0 = torch.empty((b * args.n0, ) + shape)
    s0.normal_(0, args.sigma, generator=g)
    s1 = torch.empty((b * args.n, ) + shape)
    s1.normal_(0, args.sigma, generator=g)
    out = []
    for i in range(b):
        out.append(ref.certify(x[i], s0[i * args.n0:(i + 1) * args.n0],
                               s1[i * args.n:(i + 1) * args.n], args.alpha,
                               args.batch))
    return out


def rgl_run(smooth, x, args):
    g = torch.Generator().manual_seed(args.seed)
    pred, radius = smooth.certify(x, args.n0, args.n, args.alpha, args.batch,
                                  generator=g)
    return list(zip(pred.tolist(), radius.tolist()))


def same(a, b):
    return all(p == q and abs(r - s) < 1e-9 for (p, r), (q, s) in zip(a, b))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--size', type=int, default=32, choices=sorted(SETTINGS))
    p.add_argument('--n', type=int, default=1000)
    p.add_argument('--n0', type=int, default=100)
    p.add_argument('--images', type=int, default=4)
    p.add_argument('--batch', type=int, default=1000)
    p.add_argument('--sigma', type=float, default=0.25)
    p.add_argument('--alpha', type=float, default=0.001)
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--no-bf16', action='store_true',
                   help='skip the bfloat16 autocast variant')
    p.add_argument('--channels-last-fp32', action='store_true',
                   help='also time fp32 with channels-last')
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from rgl.models.smoothing import SmoothedClassifier
    den, clf = build(args.size)
    x = torch.rand(args.images, 3, args.size, args.size,
                   generator=torch.Generator().manual_seed(123))
    ref = ReferenceDDS(den, clf, args.sigma)

    def smooth(channels_last, bf16):
        den.channels_last = channels_last
        den._memory_format_set = False
        den.unet.to(memory_format=torch.contiguous_format)
        return SmoothedClassifier(clf, args.sigma, denoiser=den, amp=False,
                                  channels_last=channels_last,
                                  cpu_bf16=bf16)

    variants = {'rgl fp32': (False, False)}
    if args.channels_last_fp32:
        variants['rgl fp32 channels-last'] = (True, False)
    if not args.no_bf16:
        variants['rgl bf16 channels-last'] = (True, True)
    print(f'DDS certify, {args.size}x{args.size}: {args.images} images, '
          f'n0={args.n0}, n={args.n}, batch={args.batch}, σ={args.sigma}, '
          f't={ref.t}, threads={torch.get_num_threads()}, UNet '
          f'{sum(p.numel() for p in den.unet.parameters()) / 1e6:.2f}M '
          f'params {SETTINGS[args.size]["unet"]}')
    times = {name: [] for name in ['reference'] + list(variants)}
    decisions = {}
    for _ in range(args.repeats):  # interleaved A/B rounds
        t0 = time.perf_counter()
        decisions['reference'] = reference_run(ref, x, args)
        times['reference'].append(time.perf_counter() - t0)
        for name, (cl, bf16) in variants.items():
            sm = smooth(cl, bf16)
            t0 = time.perf_counter()
            decisions[name] = rgl_run(sm, x, args)
            times[name].append(time.perf_counter() - t0)
    base = statistics.median(times['reference'])
    print(f'{"path":<26} {"images/s":>9} {"speed-up":>9}  decisions')
    for name, ts in times.items():
        med = statistics.median(ts)
        agree = sum(a == b for a, b in zip(decisions[name],
                                           decisions['reference']))
        note = ('identical' if same(decisions[name], decisions['reference'])
                else f'{agree}/{args.images} identical')
        print(f'{name:<26} {args.images / med:>9.3f} {base / med:>8.2f}x  '
              f'{"-" if name == "reference" else note}')
    print('decisions (class, radius):', decisions['rgl fp32'])


if __name__ == '__main__':
    main()
