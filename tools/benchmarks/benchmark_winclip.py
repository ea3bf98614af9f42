"""WinCLIP per-image inference: rgl against anomalib 2.7's loop, side by
side.

    python tools/benchmarks/benchmark_winclip.py                  # 0-shot
    python tools/benchmarks/benchmark_winclip.py --k-shot 1 --repeats 5
    python tools/benchmarks/benchmark_winclip.py --variants anomalib:fp32 \
        rgl:fp32 rgl:bf16 rgl:bf16:compile
    python tools/benchmarks/benchmark_winclip.py --device cuda \
        --variants anomalib:fp32 rgl:fp32 rgl:fp16
    python tools/benchmarks/benchmark_winclip.py --first-image --dtype bf16

One step scores ``--batch-size`` images (default 1: per-image latency, as
anomalib's engine runs MVTec): the image embedding, the patch tokens, every
2x2 and 3x3 window's embedding (196 + 169 on ViT-B-16-plus-240), the
zero-shot scores and their harmonic aggregation, and with ``--k-shot`` the
memory-bank association, up to the anomaly map at the input resolution.

- ``anomalib`` re-implements ``WinClipModel.forward`` of anomalib 2.7
  (``models/image/winclip/torch_model.py`` and ``utils.py``) in this
  process: the forward hook on ``patch_dropout`` (registered on every
  call, as there), ``index_select`` per window, one transformer call per
  scale, ``class_scores`` by cosine similarity, the per-patch Python loop
  of ``harmonic_aggregation`` and ``visual_association_score``. Its window
  bug is patched: anomalib permutes the window batch to sequence-first
  before open_clip's transformer, which is batch-first since open_clip
  2.26, so as installed every window embedding is the same; the patched
  copy skips the permutes (``--unpatched`` keeps them, to see the bug).
- ``rgl`` is ``WinCLIP.score`` / ``WinCLIPPlus.score`` and the bilinear
  upsampling of ``WinCLIP.forward``; ``bf16``/``fp16`` set
  ``model.autocast``, ``compile`` sets ``model.compile``.

Both use the same weights (random ``ViT-B-16-plus-240`` from open_clip,
seed 0; nothing is downloaded), the same text prototypes (computed once by
rgl: the reference loop is timed on images, as anomalib's text embeddings
are computed once at setup), the same images and reference images, the
same thread count and warm-up. Workers are interleaved (see
``interleave.py``); the script prints medians of wall and CPU time per
image, peak memory, and the largest differences of every variant's maps and
image scores from the first variant's.
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile

import torch
import torch.nn.functional as F

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from interleave import (load_average, markdown_table, medians,  # noqa: E402
                        run_interleaved, worker_loop)


#: ``--dtype`` / variant dtype -> ``model.autocast``
AUTOCAST = dict(fp32=None, bf16='bfloat16', fp16='float16')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--arch', default='ViT-B-16-plus-240')
    p.add_argument('--batch-size', type=int, default=1)
    p.add_argument('--k-shot', type=int, default=0)
    p.add_argument('--variants', nargs='+',
                   default=['anomalib:fp32', 'rgl:fp32', 'rgl:bf16'],
                   help='impl:dtype[:compile], impl anomalib or rgl, dtype '
                   'fp32, bf16 or fp16')
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--steps', type=int, default=1)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--threads', type=int, default=0)
    p.add_argument('--device', default='cpu')
    p.add_argument('--unpatched', action='store_true',
                   help="keep anomalib's sequence-first permutes (its bug)")
    p.add_argument('--json', help='write the results here')
    p.add_argument(
        '--first-image', action='store_true',
        help='instead: time a fresh process from start to the first scored '
        'image of a new category whose text prototypes are cached (weights '
        'loaded from a checkpoint file, as users do)')
    p.add_argument('--dtype', choices=['fp32', 'bf16', 'fp16'],
                   default='fp32',
                   help='with --first-image: the model.autocast of the run')
    p.add_argument('--out-dir', help=argparse.SUPPRESS)
    p.add_argument('--worker', help=argparse.SUPPRESS)
    return p.parse_args(argv)


# -- anomalib 2.7's WinClipModel loop, re-implemented -------------------------
def cosine_similarity(input1, input2):
    """anomalib's ``cosine_similarity`` (2-D inputs gain and lose a batch
    dimension)."""
    ndim = input1.ndim
    input1 = input1.unsqueeze(0) if input1.ndim == 2 else input1
    input2 = input2.repeat(input1.shape[0], 1, 1) if input2.ndim == 2 \
        else input2
    input1_norm = F.normalize(input1, p=2, dim=-1)
    input2_norm = F.normalize(input2, p=2, dim=-1)
    similarity = torch.bmm(input1_norm, input2_norm.transpose(-2, -1))
    if ndim == 2:
        return similarity.squeeze(0)
    return similarity


def class_scores(image_embeddings, text_embeddings, temperature,
                 target_class):
    scores = (cosine_similarity(image_embeddings, text_embeddings) /
              temperature).softmax(dim=-1)
    return scores[..., target_class]


def make_masks(grid_size, kernel_size, stride=1):
    height, width = grid_size
    grid = torch.arange(height * width).reshape(1, height, width)
    return F.unfold(grid.float(), kernel_size=kernel_size,
                    stride=stride).int()


def harmonic_aggregation(window_scores, output_size, masks):
    batch_size = window_scores.shape[0]
    height, width = output_size
    scores = []
    for idx in range(height * width):
        patch_mask = torch.any(masks == idx, dim=0)
        scores.append(sum(patch_mask) /
                      (1 / window_scores.T[patch_mask]).sum(dim=0))
    return torch.stack(scores).T.reshape(batch_size, height,
                                         width).nan_to_num(posinf=0.0)


def visual_association_score(embeddings, reference_embeddings):
    reference_embeddings = reference_embeddings.reshape(
        -1, embeddings.shape[-1])
    scores = cosine_similarity(embeddings, reference_embeddings)
    return (1 - scores).min(dim=-1)[0] / 2


class AnomalibWinClip:
    """``WinClipModel`` minus Lightning, prompts and downloads."""

    def __init__(self, clip, text_embeddings, scales=(2, 3),
                 patched=True, temperature=0.07):
        self.clip = clip
        self.clip.visual.output_tokens = True
        self.grid_size = self.clip.visual.grid_size
        self.scales = scales
        self.temperature = temperature
        self.patched = patched
        self.masks = [make_masks(self.grid_size, s, 1) for s in scales]
        self.text_embeddings = text_embeddings
        self.k_shot = 0

    def setup_reference(self, images):
        self.k_shot = images.shape[0]
        _, self.visual_embeddings, self.patch_embeddings = \
            self.encode_image(images)

    def encode_image(self, batch):
        outputs = {}

        def hook(_model, inputs, _outputs):
            outputs['feature_map'] = inputs[0].detach()

        # as in anomalib: a new hook per call, never removed
        self.clip.visual.patch_dropout.register_forward_hook(hook)
        image_embeddings, patch_embeddings = self.clip.encode_image(batch)
        feature_map = outputs['feature_map']
        window_embeddings = [self._get_window_embeddings(feature_map, m)
                             for m in self.masks]
        return image_embeddings, window_embeddings, patch_embeddings

    def _get_window_embeddings(self, feature_map, masks):
        batch_size = feature_map.shape[0]
        n_masks = masks.shape[1]
        class_index = torch.zeros(1, n_masks, dtype=int).to(
            feature_map.device)
        masks = torch.cat((class_index, masks + 1)).T
        masked = torch.cat([torch.index_select(feature_map, 1, mask)
                            for mask in masks])
        visual = self.clip.visual
        masked = visual.patch_dropout(masked)
        masked = visual.ln_pre(masked)
        if not self.patched:
            masked = masked.permute(1, 0, 2)  # NLD -> LND (the bug)
        masked = visual.transformer(masked)
        if not self.patched:
            masked = masked.permute(1, 0, 2)
        masked = visual.ln_post(masked)
        pooled, _ = visual._global_pool(masked)
        if visual.proj is not None:
            pooled = pooled @ visual.proj
        return pooled.reshape((n_masks, batch_size, -1)).permute(1, 0, 2)

    @torch.no_grad()
    def forward(self, batch):
        image_embeddings, window_embeddings, patch_embeddings = \
            self.encode_image(batch)
        image_scores = class_scores(image_embeddings, self.text_embeddings,
                                    self.temperature, target_class=1)
        multi = [image_scores.view(-1, 1, 1).repeat(1, *self.grid_size)]
        for window_embedding, mask in zip(window_embeddings, self.masks):
            scores = class_scores(window_embedding, self.text_embeddings,
                                  self.temperature, target_class=1)
            multi.append(harmonic_aggregation(scores, self.grid_size, mask))
        scores = (len(self.scales) + 1) / (1 / torch.stack(multi)).sum(dim=0)
        if self.k_shot:
            few = [visual_association_score(
                patch_embeddings, self.patch_embeddings).reshape(
                    (-1, *self.grid_size))]
            for window_embedding, reference, mask in zip(
                    window_embeddings, self.visual_embeddings, self.masks):
                s = visual_association_score(window_embedding, reference)
                few.append(harmonic_aggregation(s, self.grid_size, mask))
            few = torch.stack(few).mean(dim=0)
            scores = (scores + few) / 2
            image_scores = (image_scores + few.amax(dim=(-2, -1))) / 2
        pixel = F.interpolate(scores.unsqueeze(1), size=batch.shape[-2:],
                              mode='bilinear')
        return image_scores, pixel.squeeze(1)


# -- workers ------------------------------------------------------------------
def build_rgl(args, dtype, flags, cache_dir):
    from rgl.models.anomaly import WinCLIP, WinCLIPPlus
    autocast = AUTOCAST[dtype]
    kwargs = dict(clip=dict(model_name=args.arch), class_name='object',
                  autocast=autocast, compile='compile' in flags,
                  text_cache_dir=cache_dir)
    torch.manual_seed(0)
    if args.k_shot:
        return WinCLIPPlus(k_shot=args.k_shot, **kwargs)
    return WinCLIP(**kwargs)


def inputs(args, model):
    size = model.embedder.image_size
    g = torch.Generator().manual_seed(1)
    x = torch.rand(args.batch_size, 3, *size, generator=g)
    refs = torch.rand(max(args.k_shot, 1), 3, *size, generator=g)
    return x.to(args.device), refs.to(args.device)


def make_worker(args, spec):
    from mmpretrain.structures import DataSample
    impl, dtype, *flags = spec.split(':')
    # every worker builds rgl's model: the same weights (seed 0) and the same
    # text prototypes (read from the shared cache after the first worker)
    model = build_rgl(args, dtype if impl == 'rgl' else 'fp32', flags,
                      osp.join(args.out_dir, 'text_cache'))
    model = model.to(args.device).eval()
    protos = model.text_prototypes('object')
    x, refs = inputs(args, model)
    if impl == 'anomalib':
        if dtype != 'fp32' or 'compile' in flags:
            raise SystemExit('anomalib: fp32 only (its loop has no autocast)')
        ref = AnomalibWinClip(model.clip, protos,
                              scales=model.embedder.scales,
                              patched=not args.unpatched)
        xn = model.normalize(x)
        if args.k_shot:
            ref.setup_reference(model.normalize(refs[:args.k_shot]))

        def run():
            return ref.forward(xn)
    else:
        if args.k_shot:
            model.set_reference_images(refs[:args.k_shot], category=None)
        samples = [DataSample(metainfo=dict(ori_shape=tuple(x.shape[-2:])))
                   for _ in range(len(x))]

        @torch.no_grad()
        def run():
            scores, grid = model.score(x, samples)
            maps = F.interpolate(grid[:, None].float(), size=x.shape[-2:],
                                 mode='bilinear', align_corners=False)
            return scores.float(), maps[:, 0]

    state = {}

    def step():
        state['out'] = run()
        return float(state['out'][0].float().mean())

    return step, state


def run_worker(args):
    if args.threads:
        torch.set_num_threads(args.threads)
    step, state = make_worker(args, args.worker)

    def save_and_step():
        value = step()
        scores, maps = state['out']
        torch.save(dict(scores=scores.cpu(), maps=maps.cpu()),
                   osp.join(args.out_dir,
                            args.worker.replace(':', '_') + '.pt'))
        return value

    worker_loop(save_and_step, args.warmup, args.device)


def first_image(args):
    """Child process: build from ``args.out_dir/clip.pt``, score one image
    of category ``args.worker``; print the phases' wall and CPU seconds."""
    import time
    t0 = time.perf_counter()
    c0 = sum(os.times()[:2])
    marks = []

    def mark(name):
        marks.append((name, time.perf_counter() - t0,
                      sum(os.times()[:2]) - c0))

    import rgl.models  # noqa: F401
    from mmpretrain.structures import DataSample

    from rgl.registry import MODELS
    mark('imports')
    if args.threads:
        torch.set_num_threads(args.threads)
    model = MODELS.build(dict(
        type='WinCLIP', clip=dict(model_name=args.arch, checkpoint=osp.join(
            args.out_dir, 'clip.pt')),
        text_cache_dir=osp.join(args.out_dir, 'text_cache'),
        autocast=AUTOCAST[args.dtype])).eval()
    mark('build + load weights')
    model.text_prototypes(args.worker)
    mark('text prototypes')
    size = model.embedder.image_size
    x = torch.rand(1, 3, *size)
    with torch.no_grad():
        model(x, [DataSample(metainfo=dict(category=args.worker))])
    mark('first image')
    print(json.dumps(marks))


def time_first_image(args, threads):
    import subprocess
    out_dir = args.out_dir or tempfile.mkdtemp(prefix='bench_winclip_')
    import open_clip
    torch.manual_seed(0)
    clip = open_clip.create_model(args.arch)
    torch.save(clip.state_dict(), osp.join(out_dir, 'clip.pt'))
    del clip
    base = [sys.executable, osp.abspath(__file__), '--arch', args.arch,
            '--threads', str(threads), '--out-dir', out_dir,
            '--dtype', args.dtype, '--first-image', '--worker']
    print(f'settings: {args.arch}, random weights from a checkpoint file, '
          f'{args.dtype}, threads {threads}; load {load_average()}')
    for category, what in (('screw', 'prototypes not cached (encoded, '
                            'then written to the cache)'),
                           ('screw', 'prototypes cached')):
        res = subprocess.run(base + [category], capture_output=True,
                             text=True, check=True)
        marks = json.loads(res.stdout.strip().splitlines()[-1])
        print(f'\n{what}, load {load_average()}:')
        prev_w = prev_c = 0.0
        for name, wall, cpu in marks:
            print(f'  {name}: +{wall - prev_w:.1f} s wall, '
                  f'+{cpu - prev_c:.1f} s CPU')
            prev_w, prev_c = wall, cpu
        print(f'  total: {marks[-1][1]:.1f} s wall, {marks[-1][2]:.1f} s CPU')


def main(argv=None):
    args = parse_args(argv)
    if args.worker and args.first_image:
        return first_image(args)
    if args.worker:
        return run_worker(args)
    if args.first_image:
        return time_first_image(args, args.threads or torch.get_num_threads())
    threads = args.threads or torch.get_num_threads()
    out_dir = args.out_dir or tempfile.mkdtemp(prefix='bench_winclip_')
    base = [sys.executable, osp.abspath(__file__), '--arch', args.arch,
            '--batch-size', str(args.batch_size), '--k-shot',
            str(args.k_shot), '--warmup', str(args.warmup), '--threads',
            str(threads), '--device', args.device, '--out-dir', out_dir]
    if args.unpatched:
        base.append('--unpatched')
    print(f'settings: {args.arch} (random weights, seed 0), '
          f'{args.k_shot}-shot, batch {args.batch_size}, scales (2, 3), '
          f'device {args.device}, threads {threads}, warm-up {args.warmup}, '
          f'{args.repeats} interleaved rounds x {args.steps} steps, '
          f'anomalib window bug {"kept" if args.unpatched else "patched"}; '
          f'torch {torch.__version__}', flush=True)
    print(f'load average at start: {load_average()}', flush=True)
    variants = list(args.variants)
    _, records, peaks = run_interleaved(base, variants, args.repeats,
                                        args.steps,
                                        log=lambda m: print(m, flush=True))
    rows = medians(records, peaks)
    outs = {v: torch.load(osp.join(out_dir, v.replace(':', '_') + '.pt'),
                          weights_only=True) for v in variants}
    ref = outs[variants[0]]
    for v in variants:
        rows[v]['max_map_diff'] = float(
            (outs[v]['maps'] - ref['maps']).abs().max())
        rows[v]['max_score_diff'] = float(
            (outs[v]['scores'] - ref['scores']).abs().max())
    print(f'\nload average at end: {load_average()}\n')
    print(markdown_table(rows, variants[0], args.batch_size, unit='batch'))
    print(f'\nlargest differences from {variants[0]} (maps at the input '
          'resolution, image scores):')
    for v in variants:
        print(f"  {v}: map {rows[v]['max_map_diff']:.2e}, score "
              f"{rows[v]['max_score_diff']:.2e}")
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(settings=vars(args), results=rows,
                           records=records), f, indent=1)


if __name__ == '__main__':
    main()
