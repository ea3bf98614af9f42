"""Certify a dataset split with a Gaussian-smoothed classifier (Cohen et
al. 2019, CERTIFY).

    python tools/certify.py CONFIG CHECKPOINT --sigma 0.25 --out out.tsv \\
        [--n0 100 --n 100000 --alpha 0.001 --batch 1000 --skip 1 --max -1]
        [--compile] [--micro-batch 32] [--workers W] [--cpu-bf16]
    torchrun --nproc_per_node 2 tools/certify.py CONFIG CKPT --N 100000 \\
        --out out.tsv --launcher pytorch   # ranks split the images (CPU: gloo)

(under torchrun write ``--N`` and ``--max-idx``: torchrun takes ``--n`` and
``--max`` for prefixes of its own options).

Writes locuslab/smoothing's TSV (``idx label predict radius correct
time``), one flushed row per image. Image ``idx`` draws its noise from its
own streams seeded by ``(--seed, idx)``, so its row is the same whatever
``--batch``, ``--images-per-step``, the number of processes or a resume
(on one device kind). ``time`` is the image's own sampling time: the time
of each batch shared among the images whose draws it held, in proportion
to their draws (CUDA: event timing). ``--N0``/``--N`` are accepted as
locuslab spells them. Re-running the same command resumes a killed run; a
file of another run is refused (``--overwrite`` replaces it).
Defaults come from the config's ``certify_cfg`` dict, then the flags.

Speed: the classifier runs as a BN-folded, normalisation-folded,
channels-last copy in forward passes of at most ``--micro-batch`` copies,
``--workers`` of them at once on one thread each (CPU); ``--compile``
adds torch.compile (fp32, the same decisions); an image whose abstention
is certain stops drawing (``--no-early-abstain`` draws all n);
``--cpu-bf16`` trades precision for speed (see
tools/benchmarks/benchmark_certify.py for both).
"""
import argparse
import math
import os
import os.path as osp

import torch

import rgl  # noqa: F401  (weights_only-safe checkpoint loading)
from rgl.evaluation.certification.cli import (add_cpu_batching_arguments,
                                              add_run_arguments,
                                              parse_run_args)
from rgl.evaluation.certification.data import build_dataset
from rgl.models.smoothing.noise import NOISE_BLOCK
from rgl.utils.cli import run_cli
from rgl.utils.config import check_writable, load_config
from rgl.utils.dist import init_distributed, on_rank0
from rgl.utils.errors import CheckpointError, ConfigError, require_keys

#: Recorded in the run header: files of the earlier per-group seeding are
#: another run and are not resumed with per-image draws.
NOISE_SCHEME = f'per-image streams (seed, idx), blocks of {NOISE_BLOCK}'

DEFAULTS = dict(n0=100, n=100_000, alpha=0.001, batch=1000, skip=1, max=-1,
                split='test', seed=0)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Certify with randomized '
                                'smoothing (Cohen et al. 2019)')
    p.add_argument('config')
    p.add_argument('checkpoint', help='weights of the base classifier')
    p.add_argument('--sigma', type=float,
                   help='noise level σ (default: certify_cfg.sigma, else '
                   'the sigma of model.train_loss)')
    p.add_argument('--n0', '--N0', dest='n0', type=int,
                   help='selection draws (100)')
    p.add_argument('--n', '--N', dest='n', type=int,
                   help='estimation draws (100000)')
    p.add_argument('--alpha', type=float, help='failure probability (0.001)')
    p.add_argument('--batch', type=int, help='noisy copies per forward '
                   'pass, shared across images (1000)')
    p.add_argument('--compile', action='store_true',
                   help='torch.compile the BN-folded inference copy (fp32, '
                   'same decisions; compiling takes tens of seconds, '
                   'amortised over a long run)')
    add_cpu_batching_arguments(p)
    p.add_argument('--no-early-abstain', action='store_true',
                   help='draw all n copies even for images whose '
                   'abstention is already certain (same rows; for timing '
                   'comparisons with the reference)')
    p.add_argument('--cpu-bf16', action='store_true',
                   help='bfloat16 autocast on CPU (faster, lower precision: '
                   'radii can differ from fp32; recorded in the run)')
    return parse_run_args(add_run_arguments(p), argv)


def resolve_settings(cfg, args):
    """CLI flag > ``certify_cfg`` in the config > default."""
    from rgl.models.smoothing import check_sampling_args, check_sigma
    base = dict(DEFAULTS, **(cfg.get('certify_cfg') or {}))
    s = {k: (getattr(args, k) if getattr(args, k, None) is not None else
             base.get(k)) for k in list(DEFAULTS) + ['sigma']}
    if s['sigma'] is None:
        loss = (cfg.get('model') or {}).get('train_loss') or {}
        s['sigma'] = loss.get('sigma') if hasattr(loss, 'get') else None
    if s['sigma'] is None:
        raise ConfigError('--sigma is required (no certify_cfg.sigma or '
                          'model.train_loss.sigma in the config)')
    check_sigma(s['sigma'], '--sigma')
    check_sampling_args(n=s['n'], n0=s['n0'], alpha=s['alpha'],
                        batch_size=s['batch'])
    if s['skip'] < 1:
        raise ConfigError(f'--skip must be >= 1, got {s["skip"]}')
    return s


def main(argv=None):
    args = parse_args(argv)
    check_writable(args.out, flag='--out')
    cfg = load_config(args.config, args.cfg_options)
    require_keys(cfg, ['model'], where=args.config)
    if not osp.isfile(args.checkpoint):
        raise CheckpointError(f'checkpoint file not found: {args.checkpoint}')
    s = resolve_settings(cfg, args)
    rank, world = init_distributed(cfg, args.launcher)

    from rgl.evaluation.certification import (RowWriter, check_or_create,
                                              finished_indices, format_row,
                                              merge_parts, read_certify_tsv,
                                              summarize)
    from rgl.registry import MODELS
    dataset, ds_cfg = build_dataset(cfg, s['split'])
    classes = getattr(dataset, 'metainfo', {}).get('classes')
    smooth_cfg = dict(cfg.get('smoothing') or dict(type='SmoothedClassifier'))
    # the training objective (and e.g. a CAT-RS teacher) is not needed here
    model_cfg = {k: v for k, v in cfg.model.items() if k != 'train_loss'}
    if args.micro_batch < 0:
        raise ConfigError(f'--micro-batch must be >= 0, got '
                          f'{args.micro_batch}')
    smooth_cfg.update(classifier=model_cfg, sigma=s['sigma'],
                      checkpoint=args.checkpoint, amp=not args.fp32,
                      channels_last=not args.fp32, compile=args.compile,
                      micro_batch=args.micro_batch or None,
                      workers=args.workers, cpu_bf16=args.cpu_bf16,
                      early_abstain=not args.no_early_abstain)
    if classes and 'num_classes' not in smooth_cfg:
        smooth_cfg['num_classes'] = len(classes)
    smooth = MODELS.build(smooth_cfg)
    if classes and smooth.num_classes != len(classes):
        raise ConfigError(f'the classifier has {smooth.num_classes} classes '
                          f'but the dataset has {len(classes)}')
    device = torch.device(args.device or (
        f'cuda:{int(os.environ.get("LOCAL_RANK", 0))}'
        if torch.cuda.is_available() else 'cpu'))
    smooth.to(device).eval()

    run = dict(noise=NOISE_SCHEME,
               **{k: s[k] for k in ('sigma', 'n0', 'n', 'alpha', 'skip',
                                    'max', 'split', 'seed')})
    if args.cpu_bf16:  # another base classifier in effect: another run
        run['cpu_bf16'] = True
    # hashed: what the rows depend on (not, e.g., the training schedule)
    used = dict(model=model_cfg, dataset=ds_cfg,
                smoothing=cfg.get('smoothing'))
    # a refusal on rank 0 stops every rank (see on_rank0)
    on_rank0(lambda: check_or_create(args.out, run, overwrite=args.overwrite,
                                     checkpoint=args.checkpoint, config=used),
             rank, world)
    done = finished_indices(args.out)
    todo = [i for i in range(len(dataset)) if i % s['skip'] == 0 and
            (s['max'] < 0 or i < s['max']) and i not in done]
    mine = todo[rank::world]
    per_step = args.images_per_step or min(64, math.ceil(s['batch'] /
                                                         s['n0']))
    from tqdm import tqdm
    bar = tqdm(total=len(mine), disable=rank != 0, unit='img',
               desc=f'certify σ={s["sigma"]} (rank 0 of {world})')
    with RowWriter(args.out, rank, world) as out:
        for start in range(0, len(mine), per_step):
            idxs = mine[start:start + per_step]
            items = [dataset[i] for i in idxs]
            x = torch.stack([it['inputs'] for it in items])
            labels = [int(it['data_samples'].gt_label.item()) for it in items]
            # each image draws from its own streams, seeded by (seed, idx):
            # a row does not depend on its group, the batch size, the
            # process count or where a resumed run started
            pred, radius, seconds = smooth.certify(
                x, s['n0'], s['n'], s['alpha'], s['batch'],
                seeds=[(s['seed'], i) for i in idxs], return_seconds=True)
            for i, y, c, r, t in zip(idxs, labels, pred.tolist(),
                                     radius.tolist(), seconds.tolist()):
                out.write(format_row(i, y, c, r, int(c == y), t))
            bar.update(len(idxs))
    bar.close()
    _barrier(world)
    if rank == 0:
        merge_parts(args.out)
        rows = read_certify_tsv(args.out)
        summary = summarize(rows, [0.0, 0.25, 0.5, 0.75, 1.0])
        accs = ', '.join(f'{r:g}: {100 * a:.1f}%' for r, a in zip(
            summary['radii'], summary['certified_accuracy']))
        print(f'{args.out}: {summary["num_images"]} images, ACR '
              f'{summary["acr"]:.3f}, certified accuracy {accs}')
    _barrier(world)


def _barrier(world):
    if world > 1:
        torch.distributed.barrier()


if __name__ == '__main__':
    run_cli(main)
