"""Throughput of the REPA support parts: frozen encoders, the SD-VAE
encoder, the FID Inception, and the Fréchet distance at D = 2048.

    python tools/benchmarks/benchmark_encoders_latents.py [--device cpu]
        [--threads N] [--batch 8] [--repeats 3] [--skip-large]

Every network is the real architecture at its real size with random
weights (speed does not depend on the weights). Reports images/s (median
of ``--repeats`` timed batches after one warm-up) and seconds per Fréchet
distance. bf16 autocast is used on CUDA.
"""
import argparse
import statistics
import time

import numpy as np
import torch

import rgl  # noqa: F401
from rgl.registry import MODELS


def timed(fn, repeats, sync):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        sync()
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--skip-large', action='store_true',
                   help='skip DINOv2-L, CLIP ViT-L and the SD-VAE')
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    cuda = dev.type == 'cuda'
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    amp = torch.autocast('cuda', dtype=torch.bfloat16) if cuda else \
        torch.autocast('cpu', enabled=False)
    import warnings
    warnings.filterwarnings('ignore')
    rows = []
    n = args.batch
    x256 = torch.rand(n, 3, 256, 256, device=dev)

    encoders = [
        ('DINOv2 ViT-S/14 (224², 256 tok)', dict(type='DINOv2Encoder',
                                                 arch='vit_s')),
        ('DINOv2 ViT-B/14 (224², 256 tok)', dict(type='DINOv2Encoder',
                                                 arch='vit_b')),
        ('MAE ViT-tiny digits (32², 64 tok)', dict(
            type='MAEEncoder', arch=dict(embed_dims=128, num_layers=4,
                                         num_heads=4,
                                         feedforward_channels=512),
            patch_size=4, grid_size=8, mean=None, std=None)),
    ]
    if not args.skip_large:
        encoders += [
            ('DINOv2 ViT-L/14 (224², 256 tok)', dict(type='DINOv2Encoder',
                                                     arch='vit_l')),
            ('CLIP ViT-L/14 (224², 256 tok)', dict(type='CLIPEncoder',
                                                   model_name='ViT-L-14')),
        ]
    for name, cfg in encoders:
        enc = MODELS.build(cfg).to(dev)
        with amp:
            t = timed(lambda enc=enc: enc(x256), args.repeats, sync)
        rows.append((f'encoder {name}', n / t))
        del enc

    from rgl.evaluation.generation import FIDInceptionV3, frechet_distance
    inc = FIDInceptionV3().to(dev)
    t = timed(lambda inc=inc: inc(x256), args.repeats, sync)
    rows.append(('FID Inception-v3 features (299²)', n / t))
    del inc

    if not args.skip_large:
        import tempfile

        from diffusers import AutoencoderKL as DAE

        from rgl.models.vae import SD_VAE_CONFIG
        with tempfile.TemporaryDirectory() as tmp:
            DAE.from_config(SD_VAE_CONFIG).save_pretrained(tmp)
            vae = MODELS.build(dict(type='AutoencoderKL',
                                    pretrained=tmp)).to(dev)
        xb = x256[:max(1, n // 4)]
        with amp:
            t = timed(lambda: vae.encode_moments(xb), args.repeats, sync)
        rows.append(('SD-VAE encode moments (256² -> 4x32x32)',
                     len(xb) / t))

    rng = np.random.default_rng(0)
    feats = [rng.normal(size=(4096, 2048)) for _ in range(2)]
    from rgl.evaluation.generation import feature_statistics
    stats = [feature_statistics(f) for f in feats]
    for method in ('eigh', 'sqrtm'):
        t = time.perf_counter()
        frechet_distance(*stats[0], *stats[1], method=method)
        rows.append((f'Fréchet distance D=2048 ({method}) [s]',
                     time.perf_counter() - t))

    print(f'device={dev} threads={torch.get_num_threads()} batch={n}')
    print('| part | images/s (or s) |\n|---|---|')
    for name, value in rows:
        print(f'| {name} | {value:.2f} |')


if __name__ == '__main__':
    main()
