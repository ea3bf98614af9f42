"""Benchmark REPA training and sampling steps.

    python tools/benchmarks/benchmark_repa.py                 # CPU defaults
    python tools/benchmarks/benchmark_repa.py --device cuda --batch-size 32 \
        --dtype bf16 --compile                                 # one GPU

For each arch (SiT-B/2 and SiT-XL/2 by default, 256² images, SD-VAE latent
32×32×4, DINOv2-B target at 224², REPA depth 4 / 8) it reports:

- training images/s of one full step (forward, REPA loss, backward, AdamW
  step) with the encoder run on the fly, and with pre-extracted features
  (``features=...``, the encoder skipped), plus peak memory;
- fvcore FLOPs per image of the backbone forward (SDPA counted as
  2·T²·d per head) and, on GPU, model FLOPs utilisation of the step
  (3× forward FLOPs, against ``--peak-tflops``);
- sampling images/s for one network evaluation, extrapolated to REPA's
  250-step SDE (with CFG on 70% of the steps: 250 + 0.7·250 NFE-batches).

Weights are random (speed does not depend on them). Prints a Markdown
table; ``--json`` also writes the numbers.
"""
import argparse
import json
import os.path as osp
import resource
import sys
import time

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from rgl.registry import MODELS  # noqa: E402

DEPTH = {'B/2': 4, 'L/2': 8, 'XL/2': 8, 'S/2': 4}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--archs', nargs='+', default=['B/2', 'XL/2'])
    p.add_argument('--batch-size', type=int, default=2)
    p.add_argument('--steps', type=int, default=2, help='timed steps')
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available()
                   else 'cpu')
    p.add_argument('--dtype', default=None, choices=['fp32', 'bf16'],
                   help='autocast dtype (default: bf16 on GPU, fp32 on CPU)')
    p.add_argument('--compile', action='store_true',
                   help='torch.compile the backbone')
    p.add_argument('--peak-tflops', type=float, default=989.0,
                   help='accelerator dense bf16 peak for MFU (H100 SXM)')
    p.add_argument('--json', help='write the results here')
    return p.parse_args()


def build(arch, device):
    model = MODELS.build(dict(
        type='FlowMatching',
        backbone=dict(type='SiT', arch=arch, input_size=32, in_channels=4,
                      num_classes=1000),
        aligners=[dict(type='REPAAligner', depth=DEPTH[arch],
                       encoders=[dict(type='DINOv2Encoder', arch='vit_b',
                                      grid_size=16, checkpoint=None)])]))
    return model.to(device).train()


def sync(device):
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def peak_memory_mb(device):
    if device.startswith('cuda'):
        return torch.cuda.max_memory_allocated() / 2**20
    # CPU: the process's peak resident set size (includes everything)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_steps(fn, steps, warmup, device):
    for _ in range(warmup):
        fn()
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    sync(device)
    return (time.perf_counter() - start) / steps


def sdpa_flop_jit(inputs, outputs):
    """fvcore handle: QKᵀ and AV, T²·d multiply-adds each per head."""
    from fvcore.nn.jit_handles import get_shape
    q, k = get_shape(inputs[0]), get_shape(inputs[1])
    batch_heads = 1
    for s in q[:-2]:
        batch_heads *= s
    return 2 * batch_heads * q[-2] * k[-2] * q[-1]


def flops_per_image(model, device):
    """Backbone forward FLOPs (multiply-adds, fvcore's unit) per image."""
    from fvcore.nn import FlopCountAnalysis
    x = torch.randn(1, 4, 32, 32, device=device)
    t = torch.rand(1, device=device)
    y = torch.zeros(1, dtype=torch.long, device=device)
    counter = FlopCountAnalysis(model.backbone.eval(), (x, t, y))
    counter.set_op_handle('aten::scaled_dot_product_attention',
                          sdpa_flop_jit)
    counter.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    total = counter.total()
    model.backbone.train()
    return total


def bench_arch(arch, args):
    device = args.device
    torch.manual_seed(0)
    model = build(arch, device)
    gflops = flops_per_image(model, device) / 1e9
    if args.compile:
        model.backbone = torch.compile(model.backbone)
    opt = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=1e-4,
        weight_decay=0)
    dtype = args.dtype or ('bf16' if device.startswith('cuda') else 'fp32')
    amp = torch.autocast(device_type=device.split(':')[0],
                         dtype=torch.bfloat16, enabled=dtype == 'bf16')
    n = args.batch_size
    latents = torch.randn(n, 4, 32, 32, device=device)
    images = torch.rand(n, 3, 256, 256, device=device)
    labels = torch.randint(0, 1000, (n, ), device=device)
    from mmpretrain.structures import DataSample
    samples = [DataSample().set_gt_label(int(c)) for c in labels]
    with torch.no_grad():
        feats = model.aligners[0].encode(images)

    def step(features=None):
        with amp:
            losses = model(latents, samples, images=images,
                           features=features, input_space='latent',
                           mode='loss')
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    if device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
    t_online = time_steps(step, args.steps, args.warmup, device)
    mem = peak_memory_mb(device)
    t_pre = time_steps(lambda: step(feats), args.steps, args.warmup, device)

    model.eval()
    null = torch.full_like(labels, 1000)

    @torch.no_grad()
    def nfe():
        with amp:
            model.network(latents, torch.rand(n, device=device), null)

    t_nfe = time_steps(nfe, args.steps, args.warmup, device)
    # SDE 250 steps; CFG doubles the batch for t <= 0.7 (~70 % of steps)
    t_sample = t_nfe * (250 + 0.7 * 250)
    out = dict(arch=f'SiT-{arch}', device=device, dtype=dtype, batch=n,
               gflops_fwd_per_image=gflops,
               train_img_s=n / t_online, train_img_s_pre_extracted=n / t_pre,
               peak_mem_mb=mem, nfe_img_s=n / t_nfe,
               sample_img_s_sde250_cfg=n / t_sample)
    if device.startswith('cuda'):
        # 3× forward FLOPs per trained image; fvcore counts multiply-adds
        achieved = 2 * 3 * gflops * 1e9 * out['train_img_s_pre_extracted']
        out['mfu'] = achieved / (args.peak_tflops * 1e12)
    return out


def main():
    args = parse_args()
    rows = []
    for arch in args.archs:
        if arch not in DEPTH:
            raise SystemExit(f'--archs: {arch} is not one of {list(DEPTH)}')
        rows.append(bench_arch(arch, args))
        print(json.dumps(rows[-1]), flush=True)
    keys = list(rows[0])
    print('\n| ' + ' | '.join(keys) + ' |')
    print('|' + '---|' * len(keys))
    for r in rows:
        print('| ' + ' | '.join(f'{v:.3g}' if isinstance(v, float) else
                                str(v) for v in r.values()) + ' |')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=1)


if __name__ == '__main__':
    main()
