"""CERTIFY side by side: rgl's SmoothedClassifier against the reference
per-image loop (locuslab/smoothing ``core.py``), same work, same noise.

    python tools/benchmarks/benchmark_certify.py [--config CONFIG]
        [--checkpoint CKPT] [--sigma 0.25] [--n0 100] [--n 1000]
        [--batch 400] [--images 4] [--threads 1] [--repeats 3]
        [--workers W] [--compile] [--cpu-bf16] [--profile]

Both sides use the same base classifier (the config's model: CIFAR-10
ResNet-110 by default; random weights with BatchNorm statistics calibrated
on random images unless ``--checkpoint``), the same images, n0, n, α,
batch size, fp32, thread count and warm-up (one full CERTIFY of the first
image each, untimed). Runs alternate reference / rgl; the script prints
every setting, each run's wall-clock and CPU seconds, the medians and the
per-pair ratios, the peak resident memory of each side, and whether the
decisions agree.

The reference loop is core.py's ``certify``/``_sample_noise``: per image,
batches of ``x.repeat(batch)``, noise added, a forward of the *plain* model
(eval-mode BatchNorm, contiguous layout, normalisation as a layer), argmax,
counting on the host, for the n0 selection draws and again for the n
estimation draws, then the Clopper-Pearson bound. The one change: its
noise is not ``torch.randn_like(batch) * σ`` but the same per-image draws
rgl uses (``rgl.models.smoothing.noise.NoiseStreams``, seeded by (seed,
image) and the stream names ``'select'``/``'estimate'``), so that the two
must reach identical decisions; drawing them costs the same order of time
as ``randn_like``.
"""
import argparse
import copy
import os
import resource
import statistics
import subprocess
import time

import numpy as np
import torch
from scipy.stats import beta, norm

import rgl  # noqa: F401

DEFAULT_CONFIG = ('configs/smoothing/'
                  'gaussian_resnet110_1xb256-150e_cifar10-sigma0.25.py')


class ReferenceLoop:
    """locuslab/smoothing ``Smooth.certify``, noise from rgl's streams."""

    def __init__(self, base_classifier, num_classes, sigma):
        self.f, self.k, self.sigma = base_classifier, num_classes, sigma

    def _count_arr(self, arr):
        counts = np.zeros(self.k, dtype=int)
        for idx in arr:  # the reference counts on the host, one by one
            counts[idx] += 1
        return counts

    def _sample_noise(self, x, num, batch_size, key, stream):
        from rgl.models.smoothing.noise import NoiseStreams
        streams = NoiseStreams([key], stream, self.sigma, x.shape,
                               x.device)
        zero = torch.zeros((1, ) + tuple(x.shape), device=x.device)
        with torch.no_grad():
            counts = np.zeros(self.k, dtype=int)
            remaining, done = num, 0
            while remaining > 0:
                this_batch = min(batch_size, remaining)
                remaining -= this_batch
                batch = x.repeat((this_batch, 1, 1, 1))
                # the one change: the draws of (key, stream) instead of
                # torch.randn_like(batch) * sigma
                noise = torch.empty_like(batch)
                streams.fill(noise, zero, done, num)
                done += this_batch
                predictions = self.f(batch + noise).argmax(1)
                counts += self._count_arr(predictions.cpu().numpy())
            return counts

    def certify(self, x, n0, n, alpha, batch_size, key):
        counts0 = self._sample_noise(x, n0, batch_size, key, 'select')
        c_hat = int(counts0.argmax())
        counts = self._sample_noise(x, n, batch_size, key, 'estimate')
        n_a = int(counts[c_hat])
        # proportion_confint(n_a, n, alpha=2 * alpha, method='beta')[0]
        p_a = beta.ppf(alpha, n_a, n - n_a + 1) if n_a > 0 else 0.0
        if p_a < 0.5:
            return -1, 0.0, counts
        return c_hat, self.sigma * norm.ppf(p_a), counts


def build_classifier(cfg, checkpoint, shape, sigma, calibrate_seed=0):
    """The config's classifier: loaded weights, or random weights with
    BatchNorm running statistics set from random images (so that logits
    have a trained network's scale and the votes spread over classes)."""
    from rgl.registry import MODELS
    model_cfg = {k: v for k, v in cfg.model.items() if k != 'train_loss'}
    torch.manual_seed(calibrate_seed)
    clf = MODELS.build(model_cfg)
    if checkpoint:
        from rgl.models.smoothing import SmoothedClassifier
        SmoothedClassifier(clf, sigma=1.0).load_classifier_weights(checkpoint)
    else:
        bns = [m for m in clf.modules()
               if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        for m in bns:
            m.momentum = None  # cumulative average over the batches
        clf.train()
        g = torch.Generator().manual_seed(calibrate_seed)
        with torch.no_grad():
            for _ in range(4):
                clf.logits(random_images(64, shape, g, sigma))
            clf.eval()
            # standardise the logits over noisy random images: a random
            # network otherwise votes one class for every input, and the
            # counts to compare would be trivial
            logits = clf.logits(random_images(256, shape, g, sigma))
            mean, std = logits.mean(0), logits.std(0)
            clf.head.weight.div_(std[:, None])
            clf.head.bias.sub_(mean).div_(std)
    return clf.eval()


def random_images(num, shape, generator, sigma=0.0):
    """Smooth random images in [0, 1] (bilinear 4×4 → full size), plus
    N(0, σ²) noise when ``sigma``."""
    small = torch.rand((num, shape[0], 4, 4), generator=generator)
    x = torch.nn.functional.interpolate(small, size=shape[1:],
                                        mode='bilinear', align_corners=False)
    if sigma:
        x = x + sigma * torch.randn(x.shape, generator=generator)
    return x


def input_shape(cfg, size):
    """``(C, size, size)``, C from the config's normalisation."""
    return (len(cfg.model.get('mean') or [0.0] * 3), size, size)


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_reset():
    """Reset the process's peak RSS (Linux ``clear_refs`` 5); False where
    not supported."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def _status_mib(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return float('nan')


def peak_rss_mib():
    return _status_mib('VmHWM')


def rss_mib():
    return _status_mib('VmRSS')


def timed(fn):
    """(result, wall s, CPU s of this process, minor page faults, peak
    RSS during the call above the RSS before it, MiB, or nan)."""
    reset = peak_rss_reset()
    base = rss_mib()
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    c0, t0 = cpu_seconds(), time.perf_counter()
    out = fn()
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
    return out, wall, cpu, faults, (peak_rss_mib() - base if reset else
                                    float('nan'))


def fmt(values, spec='.2f'):
    return ', '.join(format(v, spec) for v in values)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--config', default=DEFAULT_CONFIG)
    p.add_argument('--checkpoint', default=None)
    p.add_argument('--sigma', type=float, default=0.25)
    p.add_argument('--n0', type=int, default=100)
    p.add_argument('--n', type=int, default=1000)
    p.add_argument('--alpha', type=float, default=0.001)
    p.add_argument('--batch', type=int, default=400)
    p.add_argument('--images', type=int, default=4)
    p.add_argument('--input-size', type=int, default=32,
                   help='image side (32 for CIFAR-10)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--repeats', type=int, default=3)
    from rgl.evaluation.certification.cli import \
        add_cpu_batching_arguments
    add_cpu_batching_arguments(p)  # rgl's side only
    p.add_argument('--early-abstain', action='store_true',
                   help='let rgl stop the draws of images whose abstention '
                   'is certain (its default in tools/certify.py; off here '
                   'so that both sides do the same work)')
    p.add_argument('--compile', action='store_true',
                   help='rgl with torch.compile (compile time reported '
                   'apart)')
    p.add_argument('--no-fold', action='store_true',
                   help='rgl without BN/normalisation folding and '
                   'channels-last (its plain path)')
    p.add_argument('--cpu-bf16', action='store_true',
                   help='also run rgl with bfloat16 autocast and compare '
                   'its decisions with fp32')
    p.add_argument('--profile', action='store_true',
                   help='print the operator breakdown of one batch each')
    p.add_argument('--device', default='cpu')
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from mmengine.config import Config

    from rgl.models.smoothing import SmoothedClassifier
    cfg = Config.fromfile(args.config)
    shape = input_shape(cfg, args.input_size)
    clf = build_classifier(cfg, args.checkpoint, shape,
                           args.sigma).to(args.device)
    x = random_images(args.images, shape,
                      torch.Generator().manual_seed(1)).to(args.device)
    keys = [(args.seed, i) for i in range(args.images)]
    fold = not args.no_fold
    smooth = SmoothedClassifier(
        clf, sigma=args.sigma, amp=False, channels_last=fold, fold_bn=fold,
        fold_normalize=fold, compile=args.compile,
        micro_batch=args.micro_batch or None, workers=args.workers,
        early_abstain=args.early_abstain).eval()
    ref = ReferenceLoop(clf.logits, smooth.num_classes, args.sigma)
    uptime = subprocess.run(['uptime'], capture_output=True,
                            text=True).stdout.strip()
    print(f'settings: model {cfg.model.backbone.type}'
          f'{cfg.model.backbone.get("depth", "")} ({args.config}), '
          f'{"checkpoint " + args.checkpoint if args.checkpoint else "random weights, BN calibrated"}, '  # noqa: E501
          f'input {shape}, sigma={args.sigma}, n0={args.n0}, n={args.n}, '
          f'alpha={args.alpha}, batch={args.batch}, {args.images} images, '
          f'fp32, device {args.device}, torch threads '
          f'{torch.get_num_threads()}, repeats {args.repeats} (interleaved '
          f'reference/rgl), seed {args.seed}')
    print(f'rgl: fold_bn={fold} fold_normalize={fold} channels_last={fold}'
          f' compile={args.compile} micro_batch={args.micro_batch} '
          f'workers={args.workers or torch.get_num_threads()} '
          f'early_abstain={args.early_abstain}; '
          f'torch {torch.__version__}, '
          f'{torch.backends.cpu.get_cpu_capability()}')
    print(f'machine load at start: {uptime}')

    def run_ref():
        return [ref.certify(x[i], args.n0, args.n, args.alpha, args.batch,
                            keys[i]) for i in range(args.images)]

    def run_rgl(model=smooth):
        pred, radius = model.certify(x, args.n0, args.n, args.alpha,
                                     args.batch, seeds=keys)
        return pred.tolist(), radius.tolist()

    # warm-up: one full image each (oneDNN primitives, the allocator, the
    # folded copy; with --compile the compilation, timed on its own)
    ref.certify(x[0], args.n0, args.n, args.alpha, args.batch, keys[0])
    c0, t0 = cpu_seconds(), time.perf_counter()
    ch0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    smooth.certify(x[:1], args.n0, args.n, args.alpha, args.batch,
                   seeds=keys[:1])
    warm_wall, warm_cpu = time.perf_counter() - t0, cpu_seconds() - c0
    ch1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    warm_children = ((ch1.ru_utime + ch1.ru_stime) -
                     (ch0.ru_utime + ch0.ru_stime))

    rows = dict(ref=[], rgl=[])
    decisions = {}
    for r in range(args.repeats):
        for name, fn in (('ref', run_ref), ('rgl', run_rgl)):
            out, wall, cpu, faults, rss = timed(fn)
            rows[name].append((wall, cpu, faults, rss))
            decisions.setdefault(name, out)
            print(f'  repeat {r} {name}: wall {wall:.2f} s, CPU {cpu:.2f} s,'
                  f' {faults} minor faults, peak RSS +{rss:.0f} MiB',
                  flush=True)

    def med(name, i):
        return statistics.median(v[i] for v in rows[name])

    per_img = {k: med(k, 0) / args.images for k in rows}
    print(f'\nreference per-image loop (core.py): median wall '
          f'{med("ref", 0):.2f} s ({per_img["ref"]:.2f} s/image), CPU '
          f'{med("ref", 1):.2f} s, minor faults {med("ref", 2):.0f}, peak '
          f'RSS +{max(v[3] for v in rows["ref"]):.0f} MiB')
    print(f'rgl SmoothedClassifier:             median wall '
          f'{med("rgl", 0):.2f} s ({per_img["rgl"]:.2f} s/image), CPU '
          f'{med("rgl", 1):.2f} s, minor faults {med("rgl", 2):.0f}, peak '
          f'RSS +{max(v[3] for v in rows["rgl"]):.0f} MiB')
    wall_ratios = [a[0] / b[0] for a, b in zip(rows['ref'], rows['rgl'])]
    cpu_ratios = [a[1] / b[1] for a, b in zip(rows['ref'], rows['rgl'])]
    print(f'speed-up (fp32): wall median {np.median(wall_ratios):.2f}x '
          f'(pairs {fmt(wall_ratios)}), CPU-time median '
          f'{np.median(cpu_ratios):.2f}x (pairs {fmt(cpu_ratios)})')
    print(f'rgl warm-up (first image{", incl. compile" if args.compile else ""}'  # noqa: E501
          f'): wall {warm_wall:.1f} s, CPU {warm_cpu:.1f} s + '
          f'{warm_children:.1f} s in compile workers; that is '
          f'{warm_wall / max(per_img["rgl"], 1e-9):.1f} images of '
          f'steady-state time')

    ref_pred = [d[0] for d in decisions['ref']]
    ref_rad = [round(float(d[1]), 6) for d in decisions['ref']]
    ours_pred, ours_rad = decisions['rgl']
    same = ref_pred == ours_pred and np.allclose(ref_rad, ours_rad,
                                                 rtol=0, atol=1e-6)
    print(f'decisions identical: {same} (reference predictions {ref_pred},'
          f' radii {fmt(ref_rad, ".4f")}; rgl {ours_pred}, '
          f'{fmt(ours_rad, ".4f")})')
    ref_counts = np.stack([d[2] for d in decisions['ref']])
    ours_counts = smooth.sample_counts(x, args.n, args.batch, seeds=keys,
                                       stream='estimate').cpu().numpy()
    print(f'estimation counts identical: '
          f'{bool((ref_counts == ours_counts).all())} (max |difference| '
          f'{int(np.abs(ref_counts - ours_counts).max())})')

    if args.cpu_bf16 and args.device == 'cpu':
        bf16 = copy.copy(smooth)
        bf16.cpu_bf16 = True
        bf16._fast = type(smooth._fast)()
        bf16.certify(x[:1], args.n0, args.n, args.alpha, args.batch,
                     seeds=keys[:1])
        times = []
        for _ in range(args.repeats):
            out, wall, cpu, _, _ = timed(lambda: run_rgl(bf16))
            times.append((wall, cpu))
        pred16, rad16 = out
        changed = np.mean([a != b for a, b in zip(pred16, ours_pred)])
        dr = np.abs(np.array(rad16) - np.array(ours_rad))
        print(f'rgl cpu_bf16=True: median wall '
              f'{statistics.median(t[0] for t in times):.2f} s, CPU '
              f'{statistics.median(t[1] for t in times):.2f} s; vs rgl '
              f'fp32 on the same draws: changed predictions '
              f'{changed:.3f}, max |delta radius| {dr.max():.4f}, mean '
              f'{dr.mean():.4f}')
        # the votes themselves: decisions of an untrained network are easy
        # (abstentions), but its votes spread, so flipped votes show
        counts16 = bf16.sample_counts(x, args.n, args.batch, seeds=keys,
                                      stream='estimate').cpu().numpy()
        moved = np.abs(counts16 - ours_counts).sum(1) / 2
        print(f'  estimation votes that changed class under bf16: '
              f'{int(moved.sum())} of {args.n * args.images} '
              f'({moved.sum() / (args.n * args.images):.2%}); per image '
              f'max |count difference| '
              f'{int(np.abs(counts16 - ours_counts).max())}')

    if args.profile:
        from torch.profiler import profile
        batch = x[:1].repeat(args.batch, 1, 1, 1)
        for name, fn in (
                ('reference (plain model, one batch)',
                 lambda: clf.logits(batch).argmax(1)),
                ('rgl (one batch)', lambda: smooth.sample_counts(
                    x[:1], args.batch, args.batch, seeds=keys[:1]))):
            with torch.inference_mode():
                fn()
                with profile() as prof:
                    fn()
            print(f'\n{name}')
            print(prof.key_averages().table(sort_by='self_cpu_time_total',
                                            row_limit=10))
    print(f'machine load at end: '
          f'{subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()}')  # noqa: E501
    os.sys.stdout.flush()


if __name__ == '__main__':
    main()
