"""Throughput of CERTIFY: rgl's batched SmoothedClassifier against the
reference per-image loop (locuslab/smoothing core.py design).

    python tools/benchmarks/benchmark_certify.py [--n 100000] [--images 4]
        [--batch 1000] [--device cpu] [--config CONFIG] [--threads N]

Both run the same base classifier (random weights of the config's model;
throughput does not depend on them) on the same images with the same n0, n
and batch size, and report certified images per second. The reference loop
is re-implemented here as in core.py: per image, batches of copies of that
one image (``x.repeat``), fresh ``randn_like`` noise, argmax on the device
and a Python count of the predictions on the host, for the n0 selection
draws and again for the n estimation draws.
"""
import argparse
import time

import numpy as np
import torch
from scipy.stats import beta, norm

import rgl  # noqa: F401

DEFAULT_CONFIG = ('configs/smoothing/'
                  'gaussian_smallconvnet_1xb64-20e_digits-sigma0.5.py')


class ReferenceLoop:
    """The per-image design of locuslab/smoothing's ``Smooth``."""

    def __init__(self, base_classifier, num_classes, sigma):
        self.f, self.k, self.sigma = base_classifier, num_classes, sigma

    def _count_arr(self, arr):
        counts = np.zeros(self.k, dtype=int)
        for idx in arr:  # the reference counts on the host, one by one
            counts[idx] += 1
        return counts

    def _sample_noise(self, x, num, batch_size):
        with torch.no_grad():
            counts = np.zeros(self.k, dtype=int)
            remaining = num
            while remaining > 0:
                this_batch = min(batch_size, remaining)
                remaining -= this_batch
                batch = x.repeat((this_batch, 1, 1, 1))
                noise = torch.randn_like(batch) * self.sigma
                predictions = self.f(batch + noise).argmax(1)
                counts += self._count_arr(predictions.cpu().numpy())
            return counts

    def certify(self, x, n0, n, alpha, batch_size):
        c_hat = self._sample_noise(x, n0, batch_size).argmax()
        n_a = self._sample_noise(x, n, batch_size)[c_hat]
        p_a = beta.ppf(alpha, n_a, n - n_a + 1) if n_a > 0 else 0.0
        if p_a < 0.5:
            return -1, 0.0
        return int(c_hat), self.sigma * norm.ppf(p_a)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--config', default=DEFAULT_CONFIG)
    p.add_argument('--n', type=int, default=100_000)
    p.add_argument('--n0', type=int, default=100)
    p.add_argument('--batch', type=int, default=1000)
    p.add_argument('--images', type=int, default=4)
    p.add_argument('--sigma', type=float, default=0.5)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available()
                   else 'cpu')
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--cpu-bf16', action='store_true',
                   help='also time rgl with bfloat16 autocast on CPU')
    p.add_argument('--skip-reference', action='store_true')
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from mmengine.config import Config

    from rgl.registry import DATASETS, MODELS
    cfg = Config.fromfile(args.config)
    torch.manual_seed(0)
    smooth = MODELS.build(dict(type='SmoothedClassifier',
                               classifier=cfg.model, sigma=args.sigma))
    smooth.to(args.device).eval()
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    x = torch.stack([dataset[i]['inputs'] for i in range(args.images)]).to(
        args.device)
    print(f'device {args.device}, threads {torch.get_num_threads()}, model '
          f'{cfg.model.backbone.type}, input {tuple(x.shape[1:])}, '
          f'n0={args.n0} n={args.n} batch={args.batch}, {args.images} images')

    def sync():
        if args.device.startswith('cuda'):
            torch.cuda.synchronize()

    ref = ReferenceLoop(smooth.classifier.logits, smooth.num_classes,
                        args.sigma)

    def run_ours():
        sync()
        t0 = time.perf_counter()
        smooth.certify(x, args.n0, args.n, 0.001, args.batch,
                       seeds=[(0, i) for i in range(len(x))])
        sync()
        return args.images / (time.perf_counter() - t0)

    def run_reference():
        # the reference calls the model as it is: fp32, default layout
        sync()
        t0 = time.perf_counter()
        for i in range(args.images):
            ref.certify(x[i], args.n0, args.n, 0.001, args.batch)
        sync()
        return args.images / (time.perf_counter() - t0)

    # warm-up (allocator, oneDNN/cuDNN kernels, the folded copy)
    smooth.certify(x[:1], 10, args.batch, 0.001, args.batch)
    ref.certify(x[0], 10, args.batch, 0.001, args.batch)
    ours, theirs, bf16 = [], [], []
    # interleaved repeats: a shared machine's load hits both alike
    for _ in range(args.repeats):
        ours.append(run_ours())
        if not args.skip_reference:
            theirs.append(run_reference())
        if args.cpu_bf16 and args.device == 'cpu':
            smooth.cpu_bf16 = True
            bf16.append(run_ours())
            smooth.cpu_bf16 = False
    print(f'rgl SmoothedClassifier (batched across images): median '
          f'{np.median(ours):.3f} images/s  (runs: '
          f'{", ".join(f"{v:.3f}" for v in ours)})')
    if bf16:
        print(f'rgl with cpu_bf16=True (bfloat16 autocast):     median '
              f'{np.median(bf16):.3f} images/s  (runs: '
              f'{", ".join(f"{v:.3f}" for v in bf16)})')
    if theirs:
        ratios = np.array(ours) / np.array(theirs)
        print(f'reference per-image loop (core.py design):     median '
              f'{np.median(theirs):.3f} images/s  (runs: '
              f'{", ".join(f"{v:.3f}" for v in theirs)})')
        print(f'speed-up (fp32): median {np.median(ratios):.2f}x (per-run '
              f'{", ".join(f"{v:.2f}" for v in ratios)})')
        if bf16:
            print(f'speed-up (bf16): median '
                  f'{np.median(np.array(bf16) / np.array(theirs)):.2f}x')


if __name__ == '__main__':
    main()
