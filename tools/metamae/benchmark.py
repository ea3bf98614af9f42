"""Cost of a MetaMAE training step against plain MAE.

    python tools/metamae/benchmark.py [--arch dabs] [--batch-size 32] \
        [--steps 5] [--warmup 2] [--device cpu] [--amp]

Times one optimisation step (forward with masking, inner step, losses,
backward, AdamW) of the PAMAP2-shaped model (52 × 320 sequences, segments
of 5, mask 0.85) on random inputs, for plain MAE, first-order MetaMAE and
second-order MetaMAE, and prints a markdown table with the peak memory
(CUDA) or the process's peak RSS (CPU).
"""
import argparse
import os.path as osp
import resource
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

VARIANTS = {
    'MAE': dict(inner_steps=0, reg_weight=0.0),
    'MetaMAE, first order': dict(first_order=True, reg_weight=1.0),
    'MetaMAE, second order': dict(first_order=False, reg_weight=1.0),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--arch', default='dabs')
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--steps', type=int, default=5)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--device', default=None)
    p.add_argument('--amp', action='store_true',
                   help='bf16 autocast (CPU) / fp16 autocast (CUDA)')
    return p.parse_args(argv)


def step_time(variant, args, device):
    import torch

    from rgl.models.meta import MetaMAE
    torch.manual_seed(0)
    model = MetaMAE(
        tokenizer=dict(type='SequencePatchTokenizer', seq_len=320,
                       patch_size=5, in_channels=52),
        arch=args.arch, mask_ratio=0.85, inner_lr=0.5,
        **VARIANTS[variant]).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-4)
    x = torch.randn(args.batch_size, 52, 320, device=device)
    dtype = torch.float16 if device.startswith('cuda') else torch.bfloat16
    if device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()

    def one():
        with torch.autocast(device.split(':')[0], dtype=dtype,
                            enabled=args.amp):
            losses = model(x, mode='loss')
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(args.warmup):
        one()
    if device.startswith('cuda'):
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(args.steps):
        one()
    if device.startswith('cuda'):
        torch.cuda.synchronize()
        mem = torch.cuda.max_memory_allocated() / 2**20
    else:
        mem = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return (time.perf_counter() - start) / args.steps, mem


def main(argv=None):
    import torch
    args = parse_args(argv)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    print(f'| variant | s / step (batch {args.batch_size}) | relative | '
          f'peak memory (MB{", process RSS" if device == "cpu" else ""}) |')
    print('|---|---|---|---|')
    base = None
    for variant in VARIANTS:
        sec, mem = step_time(variant, args, device)
        base = base or sec
        print(f'| {variant} | {sec:.3f} | {sec / base:.2f}x | {mem:,.0f} |',
              flush=True)


if __name__ == '__main__':
    main()
