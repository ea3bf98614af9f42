"""Proxy-scale CSD check on CPU: does SVGD make the particles' edits more
consistent than independent score distillation at an equal step count?

    python tools/csd/benchmark_proxy.py [--particles 4] [--steps 20]

A tiny random InstructPix2Pix pipeline is built in a temporary folder; the
particles are latents of one random image plus small per-particle
perturbations (like neighbouring video frames). Both modes run the same
steps with the same seeds (same t and ε per step and particle). Reported
per mode: steps/s, the mean cosine similarity of neighbouring particles'
edits Δ_i = x_i − x_i^src, and the mean distance between neighbouring
edited latents. Random weights: this measures the mechanism (the kernel
sharing scores across particles), not edit quality.
"""
import argparse
import json
import tempfile
import time

import torch


def run(folder, svgd, args):
    from rgl.registry import MODELS
    d = MODELS.build(dict(
        type='SVGDDistiller', svgd=svgd, num_steps=args.steps,
        score_source=dict(type='InstructPix2PixScore', pretrained=folder)))
    src_model = d.score_source
    src_model.set_prompts('turn it into a painting')
    gen = torch.Generator().manual_seed(0)
    base = torch.rand(1, 3, args.size, args.size, generator=gen)
    frames = (base + 0.05 * torch.randn(args.particles, 3, args.size,
                                        args.size, generator=gen)).clamp(0,
                                                                         1)
    src = src_model.encode(frames)
    x = torch.nn.Parameter(src.clone())
    opt, sched = d.make_optimizer([x])
    start = time.perf_counter()
    for step in range(args.steps):
        opt.zero_grad()
        x.grad, _ = d.gradient(x.data, src, step)
        opt.step()
        sched.step()
    sps = args.steps / (time.perf_counter() - start)
    delta = (x.data - src).flatten(1)
    cos = torch.nn.functional.cosine_similarity(delta[:-1], delta[1:])
    dist = (x.data[:-1] - x.data[1:]).flatten(1).norm(dim=1)
    return dict(svgd=svgd, steps=args.steps, steps_per_s=round(sps, 3),
                edit_cosine_neighbours=round(float(cos.mean()), 4),
                latent_distance_neighbours=round(float(dist.mean()), 4),
                edit_norm=round(float(delta.norm(dim=1).mean()), 4))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--particles', type=int, default=4)
    p.add_argument('--steps', type=int, default=20)
    p.add_argument('--size', type=int, default=32, help='image side')
    args = p.parse_args(argv)
    from rgl.models.distillers.tiny import build_tiny_pipeline
    with tempfile.TemporaryDirectory() as tmp:
        folder = build_tiny_pipeline(tmp)
        for svgd in (False, True):
            print(json.dumps(run(folder, svgd, args)), flush=True)


if __name__ == '__main__':
    main()
