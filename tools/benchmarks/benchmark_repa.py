"""REPA training step: rgl against the official step, side by side.

    python tools/benchmarks/benchmark_repa.py                 # SiT-B/2, bs 8
    python tools/benchmarks/benchmark_repa.py --preset small  # SiT-S/2, bs 4
    python tools/benchmarks/benchmark_repa.py --variants official:fp32 \
        rgl:fp32 rgl:bf16 rgl:bf16:compile --repeats 5
    python tools/benchmarks/benchmark_repa.py --device cuda --batch-size 32 \
        --variants official:bf16 rgl:bf16 rgl:bf16:compile --mfu

One step is what each training loop does per iteration: the frozen
encoder's forward on the clean images (DINOv2-B at 224², no grad), the
SiT forward at the noisy latents, the denoising and projection losses,
backward, gradient clipping at 1.0, AdamW, and the EMA update (decay
0.9999, every parameter).

- ``official`` re-implements sihyun-yu/REPA's ``train.py`` loop and
  ``loss.py`` (``SILoss``) in this process, with the official SiT
  (``models/sit.py``: timm ``PatchEmbed``/``Attention``/``Mlp``, the projector
  run inside ``forward``) and ``update_ema``;
- ``rgl`` is the runner's step: ``FlowMatching.train_step`` through an
  ``OptimWrapper`` (``AutocastOptimWrapper`` for bf16), then
  ``EMAHook``'s ``ExponentialMovingAverage.update_parameters``; ``compile``
  applies :func:`rgl.engine.optimizers.compile_train_modules`, what the
  config key ``compile=True`` does in ``tools/train.py``.

Both build the same weights (seed 0, the rgl model's state dict copied into
the official SiT), take the same inputs (seed 1) and run with the same
thread count. Each variant lives in its own worker process (so compile
caches and peak memory are its own); the parent runs them interleaved
(A, B, C, A, B, C, ...) after ``--warmup`` steps each and reports medians
of wall time and of the worker's user and system CPU time per step. On CPU,
user time is the compute; system time is mostly page faults of the
allocator (see ``MALLOC_*`` in tools/dist_train.sh). Peak memory is the
worker's peak RSS (CPU) or ``max_memory_allocated`` (CUDA).
"""
import argparse
import json
import os
import os.path as osp
import sys

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from interleave import (load_average, markdown_table, medians,  # noqa: E402
                        run_interleaved, worker_loop)

DEPTH = {'S/2': 4, 'B/2': 4, 'L/2': 8, 'XL/2': 8}
PRESETS = {
    # REPA's SiT-B/2 recipe at batch 8 (DINOv2-B at 224², 256² images)
    'b2': dict(arch='B/2', batch_size=8, encoder='vit_b'),
    # fits the 2-core CPU comfortably: SiT-S/2 and DINOv2-S
    'small': dict(arch='S/2', batch_size=4, encoder='vit_s'),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--preset', choices=sorted(PRESETS), default='b2')
    p.add_argument('--arch', choices=sorted(DEPTH))
    p.add_argument('--batch-size', type=int)
    p.add_argument('--encoder', choices=['vit_s', 'vit_b', 'vit_l'],
                   help='DINOv2 size of the REPA target')
    p.add_argument('--variants', nargs='+',
                   default=['official:fp32', 'rgl:fp32', 'rgl:bf16:compile'],
                   help='impl:dtype[:flag...], impl official or rgl, '
                   'dtype fp32 or bf16, flags compile (rgl), malloc (glibc '
                   'settings), jemalloc (LD_PRELOAD)')
    p.add_argument('--repeats', type=int, default=5,
                   help='interleaved rounds')
    p.add_argument('--steps', type=int, default=1,
                   help='timed steps per variant per round')
    p.add_argument('--warmup', type=int, default=2,
                   help='untimed steps first (compile happens here)')
    p.add_argument('--threads', type=int, default=0,
                   help='torch threads (default: all cores)')
    p.add_argument('--device', default='cuda' if torch.cuda.is_available()
                   else 'cpu')
    p.add_argument('--compile-mode', default=None,
                   help='torch.compile mode, e.g. max-autotune')
    p.add_argument('--mfu', action='store_true',
                   help='also count forward FLOPs (fvcore) and report model '
                   'FLOPs utilisation against --peak-tflops')
    p.add_argument('--peak-tflops', type=float, default=989.0,
                   help='dense bf16 peak of the accelerator (H100 SXM 989)')
    p.add_argument('--json', help='write all results here')
    p.add_argument('--worker', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    for key, value in PRESETS[args.preset].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


# -- the official REPA step, re-implemented ---------------------------------
def build_official_sit(arch_cfg, input_size, in_channels, num_classes,
                       depth, z_dims, projector_dim):
    """sihyun-yu/REPA ``models/sit.py`` SiT (timm blocks, projector inside
    ``forward``); keys equal rgl's ``backbone.*`` plus ``projectors.*``."""
    import math

    from timm.models.vision_transformer import Attention, Mlp, PatchEmbed
    from torch import nn

    def modulate(x, shift, scale):
        return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)

    def mlp(i, h, o):
        return nn.Sequential(nn.Linear(i, h), nn.SiLU(), nn.Linear(h, h),
                             nn.SiLU(), nn.Linear(h, o))

    class TimestepEmbedder(nn.Module):

        def __init__(self, d, freq=256):
            super().__init__()
            self.mlp = nn.Sequential(nn.Linear(freq, d), nn.SiLU(),
                                     nn.Linear(d, d))
            self.freq = freq

        def forward(self, t):
            half = self.freq // 2
            freqs = torch.exp(-math.log(10000) * torch.arange(
                0, half, dtype=torch.float32) / half).to(t.device)
            args = t[:, None].float() * freqs[None]
            emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
            return self.mlp(emb.to(t.dtype))

    class LabelEmbedder(nn.Module):

        def __init__(self, classes, d, p):
            super().__init__()
            self.embedding_table = nn.Embedding(classes + 1, d)
            self.num_classes, self.p = classes, p

        def forward(self, y, train):
            if train and self.p > 0:
                drop = torch.rand(y.shape[0], device=y.device) < self.p
                y = torch.where(drop, self.num_classes, y)
            return self.embedding_table(y)

    class Block(nn.Module):

        def __init__(self, d, heads):
            super().__init__()
            self.norm1 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
            self.attn = Attention(d, num_heads=heads, qkv_bias=True,
                                  qk_norm=False)
            self.attn.fused_attn = True  # --fused-attn True (default)
            self.norm2 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
            self.mlp = Mlp(in_features=d, hidden_features=4 * d,
                           act_layer=lambda: nn.GELU(approximate='tanh'),
                           drop=0)
            self.adaLN_modulation = nn.Sequential(nn.SiLU(),
                                                  nn.Linear(d, 6 * d))

        def forward(self, x, c):
            sm, cm, gm, sp, cp, gp = self.adaLN_modulation(c).chunk(6, -1)
            x = x + gm.unsqueeze(1) * self.attn(modulate(self.norm1(x), sm,
                                                         cm))
            return x + gp.unsqueeze(1) * self.mlp(modulate(self.norm2(x),
                                                           sp, cp))

    class FinalLayer(nn.Module):

        def __init__(self, d, p, c):
            super().__init__()
            self.norm_final = nn.LayerNorm(d, elementwise_affine=False,
                                           eps=1e-6)
            self.linear = nn.Linear(d, p * p * c)
            self.adaLN_modulation = nn.Sequential(nn.SiLU(),
                                                  nn.Linear(d, 2 * d))

        def forward(self, x, c):
            shift, scale = self.adaLN_modulation(c).chunk(2, dim=-1)
            return self.linear(modulate(self.norm_final(x), shift, scale))

    class OfficialSiT(nn.Module):

        def __init__(self):
            super().__init__()
            d, p = arch_cfg['hidden_size'], arch_cfg['patch_size']
            self.p, self.c, self.encoder_depth = p, in_channels, depth
            self.x_embedder = PatchEmbed(input_size, p, in_channels, d,
                                         bias=True)
            self.t_embedder = TimestepEmbedder(d)
            self.y_embedder = LabelEmbedder(num_classes, d, 0.1)
            self.pos_embed = nn.Parameter(
                torch.zeros(1, self.x_embedder.num_patches, d),
                requires_grad=False)
            self.blocks = nn.ModuleList([
                Block(d, arch_cfg['num_heads'])
                for _ in range(arch_cfg['depth'])
            ])
            self.projectors = nn.ModuleList(
                [mlp(d, projector_dim, z) for z in z_dims])
            self.final_layer = FinalLayer(d, p, in_channels)

        def forward(self, x, t, y):
            x = self.x_embedder(x) + self.pos_embed
            n, tokens, d = x.shape
            c = self.t_embedder(t) + self.y_embedder(y, self.training)
            for i, block in enumerate(self.blocks):
                x = block(x, c)
                if i + 1 == self.encoder_depth:
                    zs = [proj(x.reshape(-1, d)).reshape(n, tokens, -1)
                          for proj in self.projectors]
            x = self.final_layer(x, c)
            h = w = int(tokens**0.5)
            x = x.reshape(n, h, w, self.p, self.p, self.c)
            x = torch.einsum('nhwpqc->nchpwq', x)
            return x.reshape(n, self.c, h * self.p, w * self.p), zs

    return OfficialSiT()


def official_loss(model, x, y, zs):
    """``SILoss.__call__`` (linear path, v prediction, uniform t)."""
    t = torch.rand((x.shape[0], 1, 1, 1)).to(device=x.device, dtype=x.dtype)
    noise = torch.randn_like(x)
    model_input = (1 - t) * x + t * noise
    target = -x + noise
    out, zs_tilde = model(model_input, t.flatten(), y)
    denoise = torch.mean((out - target)**2, dim=list(range(1, out.dim())))
    proj = 0.
    for z, z_tilde in zip(zs, zs_tilde):
        for z_j, z_tilde_j in zip(z, z_tilde):
            z_tilde_j = torch.nn.functional.normalize(z_tilde_j, dim=-1)
            z_j = torch.nn.functional.normalize(z_j, dim=-1)
            proj += torch.mean(-(z_j * z_tilde_j).sum(dim=-1))
    proj /= (len(zs) * zs[0].shape[0])
    return denoise, proj


# -- workers ------------------------------------------------------------------
def rgl_model_cfg(args):
    from rgl.models.backbones.diffusion_transformer import resolve_arch
    return dict(
        type='FlowMatching',
        backbone=dict(type='SiT', arch=args.arch, input_size=32,
                      in_channels=4, num_classes=1000),
        aligners=[dict(type='REPAAligner', depth=DEPTH[args.arch],
                       projector_dim=2048, loss_weight=0.5,
                       encoders=[dict(type='DINOv2Encoder',
                                      arch=args.encoder, grid_size=16,
                                      checkpoint=None)])]), resolve_arch


def make_worker(args, spec):
    """Build one variant; return ``step()`` and a description."""
    from mmengine.model import ExponentialMovingAverage
    from mmengine.optim import OptimWrapper
    from mmpretrain.structures import DataSample

    from rgl.engine.optimizers import (AutocastOptimWrapper,
                                       compile_train_modules)
    from rgl.registry import MODELS
    impl, dtype, *flags = spec.split(':')
    device = args.device
    torch.manual_seed(0)
    cfg, resolve_arch = rgl_model_cfg(args)
    model = MODELS.build(cfg).to(device).train()
    encoder = model.aligners[0].encoders[0]
    n = args.batch_size
    gen = torch.Generator().manual_seed(1)
    latents = torch.randn(n, 4, 32, 32, generator=gen).to(device)
    images = torch.randint(0, 256, (n, 3, 256, 256), generator=gen,
                           dtype=torch.uint8).to(device)
    labels = torch.randint(0, 1000, (n, ), generator=gen).to(device)
    bf16 = dtype == 'bf16'
    dev_type = torch.device(device).type
    torch.manual_seed(2)

    if impl == 'official':
        arch_cfg = resolve_arch(args.arch, 'SiT')
        net = build_official_sit(arch_cfg, 32, 4, 1000, DEPTH[args.arch],
                                 [encoder.embed_dim], 2048).to(device)
        state = {k[len('backbone.'):]: v for k, v in
                 model.state_dict().items() if k.startswith('backbone.')}
        state.update({
            k.replace('aligners.0.', ''): v
            for k, v in model.state_dict().items()
            if k.startswith('aligners.0.projectors.')
        })
        net.load_state_dict(state, strict=True)
        net.train()
        del model
        ema = build_official_sit(arch_cfg, 32, 4, 1000, DEPTH[args.arch],
                                 [encoder.embed_dim], 2048).to(device)
        ema.load_state_dict(net.state_dict())
        ema.requires_grad_(False)
        opt = torch.optim.AdamW(net.parameters(), lr=1e-4, weight_decay=0)
        if 'compile' in flags:
            raise SystemExit('official: no compile flag (the official '
                             'train.py has none)')
        mean = torch.tensor([0.485, 0.456, 0.406], device=device)[:, None,
                                                                  None]
        std = torch.tensor([0.229, 0.224, 0.225], device=device)[:, None,
                                                                 None]
        amp = torch.autocast(dev_type, dtype=torch.bfloat16, enabled=bf16)
        timm_vit = encoder.model

        def step():
            with torch.no_grad():
                with amp:
                    raw = (images / 255. - mean) / std
                    raw = torch.nn.functional.interpolate(raw, 224,
                                                          mode='bicubic')
                    z = timm_vit.forward_features(raw)[:, timm_vit.
                                                       num_prefix_tokens:]
            with amp:
                denoise, proj = official_loss(net, latents, labels, [z])
                loss = denoise.mean() + proj.mean() * 0.5
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            with torch.no_grad():
                ema_p = dict(ema.named_parameters())
                for name, p in net.named_parameters():
                    ema_p[name].mul_(0.9999).add_(p.data, alpha=1e-4)
            return float(loss.detach())

        return step, net
    # rgl: the runner's train_step and EMAHook's update
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=1e-4,
        betas=(0.9, 0.999), eps=1e-8, weight_decay=0)
    kwargs = dict(optimizer=optimizer, clip_grad=dict(max_norm=1.0))
    wrapper = (AutocastOptimWrapper(dtype='bfloat16', **kwargs)
               if bf16 else OptimWrapper(**kwargs))
    ema = ExponentialMovingAverage(model, momentum=1e-4, update_buffers=True)
    if 'compile' in flags:
        opts = dict(mode=args.compile_mode) if args.compile_mode else True
        compile_train_modules(model, opts)
    samples = [DataSample().set_gt_label(int(c)) for c in labels]
    for s in samples:
        s.set_field('latent', 'input_space', field_type='metainfo')
    data = dict(inputs=list(latents), data_samples=samples)
    # LatentDataset's uint8 crops travel as `images` beside the latents
    data['images'] = list(images)

    def step():
        losses = model.train_step(data, wrapper)
        ema.update_parameters(model)
        return float(losses['loss'])

    return step, model


def run_worker(args):
    if args.threads:
        torch.set_num_threads(args.threads)
    step, net = make_worker(args, args.worker)
    with torch.no_grad():
        checksum = sum(float(p.double().sum()) for p in net.parameters())
    worker_loop(step, args.warmup, args.device, dict(checksum=checksum))


def forward_gflops(args):
    """fvcore multiply-adds of the backbone forward, per image."""
    from fvcore.nn import FlopCountAnalysis
    from fvcore.nn.jit_handles import get_shape

    from rgl.registry import MODELS

    def sdpa(inputs, outputs):
        q, k = get_shape(inputs[0]), get_shape(inputs[1])
        heads = 1
        for s in q[:-2]:
            heads *= s
        return 2 * heads * q[-2] * k[-2] * q[-1]

    cfg, _ = rgl_model_cfg(args)
    backbone = MODELS.build(cfg['backbone']).eval()
    counter = FlopCountAnalysis(
        backbone, (torch.randn(1, 4, 32, 32), torch.rand(1),
                   torch.zeros(1, dtype=torch.long)))
    counter.set_op_handle('aten::scaled_dot_product_attention', sdpa)
    counter.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return counter.total() / 1e9


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return run_worker(args)
    threads = args.threads or torch.get_num_threads()
    base = [sys.executable, osp.abspath(__file__), '--preset', args.preset,
            '--arch', args.arch, '--batch-size', str(args.batch_size),
            '--encoder', args.encoder, '--warmup', str(args.warmup),
            '--threads', str(threads), '--device', args.device]
    if args.compile_mode:
        base += ['--compile-mode', args.compile_mode]
    print(f'settings: SiT-{args.arch} (REPA depth {DEPTH[args.arch]}), '
          f'DINOv2-{args.encoder[4:].upper()} at 224², batch '
          f'{args.batch_size}, 256² uint8 images + 32x32x4 latents, AdamW '
          f'lr 1e-4, clip 1.0, EMA 0.9999, device {args.device}, threads '
          f'{threads}, warm-up {args.warmup}, {args.repeats} interleaved '
          f'rounds x {args.steps} steps; torch {torch.__version__}; '
          f'MALLOC_ARENA_MAX={os.environ.get("MALLOC_ARENA_MAX", "-")} '
          f'MALLOC_TRIM_THRESHOLD_='
          f'{os.environ.get("MALLOC_TRIM_THRESHOLD_", "-")} LD_PRELOAD='
          f'{os.environ.get("LD_PRELOAD", "-")}', flush=True)
    print(f'load average at start: {load_average()}', flush=True)
    ready, records, peaks = run_interleaved(
        base, list(args.variants), args.repeats, args.steps,
        log=lambda m: print(m, flush=True))
    for spec, info in ready.items():
        print(f'{spec}: weights checksum {info["checksum"]:.6f}, warm-up '
              f'losses {[round(v, 4) for v in info["warmup_values"]]}')
    rows = medians(records, peaks)
    print(f'\nload average at end: {load_average()}\n')
    print(markdown_table(rows, args.variants[0], args.batch_size))
    if args.mfu:
        gflops = forward_gflops(args)
        print(f'\nbackbone forward: {gflops:.1f} GMAC per image (fvcore)')
        for spec, row in rows.items():
            achieved = 2 * 3 * gflops * 1e9 * args.batch_size / row['wall_s']
            print(f'{spec}: MFU {achieved / (args.peak_tflops * 1e12):.3f} '
                  f'(3x forward FLOPs, peak {args.peak_tflops} TFLOPs)')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(settings=vars(args), results=rows,
                           records=records), f, indent=1)


if __name__ == '__main__':
    main()
