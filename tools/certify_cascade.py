"""Cascaded multi-scale certification (MDDS; Jeong & Shin, NeurIPS 2023).

    python tools/certify_cascade.py CONFIG CHECKPOINT --out mdds.tsv \\
        [--sigmas 1.0 0.5 0.25 --skip-p 0.5 --N0 100 --N 100000 \\
         --alpha 0.001 --batch 1000 --skip 1 --max -1 --seed 0]
    python tools/certify_cascade.py CONFIG CKPT --predict --N 200 \\
        --out mdds_predict.tsv        # threshold prediction mode
    torchrun --nproc_per_node 2 tools/certify_cascade.py CONFIG CKPT \\
        --N 10000 --out mdds.tsv --launcher pytorch  # ranks split images

The model is the config's ``smoothing`` (a ``SmoothedClassifier``, usually
with a ``denoiser``) around ``model``, as in tools/certify.py; the stages
are ``cascade.sigmas`` (largest first) with threshold ``cascade.skip_p``.

Writes the reference's TSV ``idx label predict radius r_neg correct
pred_uc corr_uc stage time`` (``predict`` −2: a stage could not decide,
−1: no certificate; ``r_neg`` in the radius' [0, 1] pixel units, −100
when unset; ``pred_uc`` is the certified class, else the clean
classifier's). tools/analyze_certify.py reads it directly, by column
name, and counts −2 as an abstention. ``--predict`` writes ``idx label
pred0 predict correct time stage c_max``. One flushed row per image; the
noise of image ``i`` is drawn from ``(seed, i)`` alone, so re-running the
same command resumes a killed run with the same results, whatever the
batch or process count. Another run's file is refused (``--overwrite``
replaces it).
"""
import argparse
import datetime
import math
import os
import os.path as osp

import torch

import rgl  # noqa: F401  (weights_only-safe checkpoint loading)
from rgl.evaluation.certification.cli import (add_run_arguments,
                                              parse_run_args)
from rgl.evaluation.certification.data import build_dataset
from rgl.utils.cli import run_cli
from rgl.utils.config import check_writable, load_config
from rgl.utils.dist import init_distributed, on_rank0
from rgl.utils.errors import CheckpointError, ConfigError, DataError, \
    require_keys

CERTIFY_COLUMNS = ('idx', 'label', 'predict', 'radius', 'r_neg', 'correct',
                   'pred_uc', 'corr_uc', 'stage', 'time')
PREDICT_COLUMNS = ('idx', 'label', 'pred0', 'predict', 'correct', 'time',
                   'stage', 'c_max')
DEFAULTS = dict(n0=100, n=100_000, alpha=0.001, batch=1000, skip=1, max=-1,
                split='test', seed=0, sigmas=[1.0, 0.5, 0.25], skip_p=0.5,
                unif_w=0.1)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Cascaded multi-scale '
                                'certification (MDDS)')
    p.add_argument('config')
    p.add_argument('checkpoint', help='weights of the base classifier')
    p.add_argument('--sigmas', type=float, nargs='+',
                   help='stage noise levels, decreasing (1.0 0.5 0.25)')
    p.add_argument('--skip-p', '--skip_p', dest='skip_p', type=float,
                   help='threshold p0 in (0, 1) (0.5)')
    p.add_argument('--n0', '--N0', dest='n0', type=int,
                   help='selection draws per stage (100)')
    p.add_argument('--n', '--N', dest='n', type=int,
                   help='estimation draws per stage (100000; --predict: '
                   'the draws of the threshold test)')
    p.add_argument('--alpha', type=float, help='failure probability α; '
                   'stage s uses α/s (0.001)')
    p.add_argument('--batch', type=int, help='noisy copies per forward '
                   'pass, shared across images (1000)')
    p.add_argument('--predict', action='store_true',
                   help='threshold prediction mode instead of certification')
    p.add_argument('--unif-w', dest='unif_w', type=float,
                   help='--predict: uniform weight of the vote prior (0.1)')
    p.add_argument('--check-earlier', action='store_true',
                   help='--predict: refuse a firing stage that an earlier '
                   "stage's R_neg does not exclude (the released script "
                   'skips this check)')
    return parse_run_args(add_run_arguments(p), argv)


def resolve_settings(cfg, args):
    """CLI flag > ``cascade``/``certify_cfg`` in the config > default."""
    from rgl.models.smoothing import check_sampling_args
    from rgl.models.smoothing.cascade import check_cascade_args
    base = dict(DEFAULTS, **(cfg.get('certify_cfg') or {}))
    base.update({k: v for k, v in (cfg.get('cascade') or {}).items()
                 if k in DEFAULTS})
    if args.predict and args.n is None and 'n' not in (
            cfg.get('cascade') or {}):
        base['n'] = 200  # the reference's prediction setting
    s = {k: (getattr(args, k) if getattr(args, k, None) is not None else
             base[k]) for k in DEFAULTS}
    s['sigmas'] = [float(v) for v in s['sigmas']]
    try:
        check_cascade_args(s['sigmas'], s['skip_p'])
    except ConfigError as err:
        raise ConfigError(f'cascade: {err}') from None
    check_sampling_args(n=s['n'], n0=s['n0'], alpha=s['alpha'],
                        batch_size=s['batch'])
    if s['skip'] < 1:
        raise ConfigError(f'--skip must be >= 1, got {s["skip"]}')
    if not 0 <= s['unif_w'] <= 1:
        raise ConfigError(f'--unif-w must lie in [0, 1], got {s["unif_w"]}')
    return s


# -- a resumable TSV with its own columns, split across ranks -------------
def _complete_rows(path, columns):
    """The data rows of ``path`` that are whole, and the byte length of the
    whole prefix (a killed run may leave half a line)."""
    if not osp.isfile(path):
        return [], 0
    with open(path, 'rb') as f:
        data = f.read()
    rows, valid, pos, header = [], 0, 0, '\t'.join(columns)
    for i, raw in enumerate(data.split(b'\n')[:-1]):
        pos += len(raw) + 1
        text = raw.decode('utf-8', errors='replace')
        if i == 0:
            if text != header:
                raise DataError(f'{path}: expected the header {header!r}, '
                                f'got {text!r}')
        elif len(text.split('\t')) != len(columns):
            break
        else:
            rows.append(text)
        valid = pos
    return rows, valid


def merge_parts(path, columns):
    """Fold ``path`` and its ``.part<rank>`` files into ``path`` (idx order,
    one row per idx, half-written lines dropped) and remove the parts."""
    import glob
    parts = sorted(glob.glob(glob.escape(path) + '.part*'))
    rows = {}
    for p in [path] + parts:
        for line in _complete_rows(p, columns)[0]:
            rows.setdefault(int(line.split('\t', 1)[0]), line)
    tmp = path + '.merging'
    with open(tmp, 'w') as f:
        f.write('\t'.join(columns) + '\n')
        for idx in sorted(rows):
            f.write(rows[idx] + '\n')
    os.replace(tmp, path)
    for p in parts:
        os.remove(p)
    return [rows[i] for i in sorted(rows)]


class RowWriter:
    """Appends flushed rows: to ``path`` alone, or to ``path.part<rank>``
    when several ranks write."""

    def __init__(self, path, columns, rank=0, world=1):
        self.path = path if world == 1 else f'{path}.part{rank}'
        if not osp.isfile(self.path):
            with open(self.path, 'w') as f:
                f.write('\t'.join(columns) + '\n')
        self.file = None

    def __enter__(self):
        self.file = open(self.path, 'a')
        return self

    def write(self, fields):
        self.file.write('\t'.join(fields) + '\n')
        self.file.flush()  # a killed run keeps every finished row

    def __exit__(self, *exc):
        self.file.close()


# -------------------------------------------------------------------------
def build_models(cfg, args, s):
    from rgl.registry import MODELS
    smooth_cfg = dict(cfg.get('smoothing') or dict(type='SmoothedClassifier'))
    model_cfg = {k: v for k, v in cfg.model.items() if k != 'train_loss'}
    smooth_cfg.update(classifier=model_cfg, sigma=s['sigmas'][-1],
                      checkpoint=args.checkpoint, amp=not args.fp32,
                      channels_last=not args.fp32)
    cascade = MODELS.build(dict(type='CascadedSmoothedClassifier',
                                smoothed=smooth_cfg, sigmas=s['sigmas'],
                                skip_p=s['skip_p'], unif_w=s['unif_w']))
    return cascade, model_cfg


def _fmt_time(seconds):
    return str(datetime.timedelta(seconds=float(seconds)))


def certify_rows(cascade, x, idxs, labels, s, seeds):
    results = cascade.certify(x, s['n0'], s['n'], s['alpha'], s['batch'],
                              seeds=seeds)
    for i, y, r in zip(idxs, labels, results):
        yield ['{}'.format(i), str(y), str(r['predict']),
               '{:.3}'.format(r['radius']), '{:.3}'.format(r['r_neg']),
               str(int(r['predict'] == y)), str(r['pred_uc']),
               str(int(r['pred_uc'] == y)), str(r['stage']),
               _fmt_time(r['seconds'])]


def predict_rows(cascade, x, idxs, labels, s, seeds, check_earlier):
    results = cascade.predict_threshold(x, s['n'], s['batch'], s['alpha'],
                                        check_earlier, seeds=seeds)
    for i, y, r in zip(idxs, labels, results):
        yield [str(i), str(y), str(r['pred0']), str(r['predict']),
               str(int(r['predict'] == y)), _fmt_time(r['seconds']),
               str(r['stage']), '{:.4}'.format(r['c_max'])]


def main(argv=None):
    args = parse_args(argv)
    check_writable(args.out, flag='--out')
    cfg = load_config(args.config, args.cfg_options)
    require_keys(cfg, ['model'], where=args.config)
    if not osp.isfile(args.checkpoint):
        raise CheckpointError(f'checkpoint file not found: {args.checkpoint}')
    s = resolve_settings(cfg, args)

    rank, world = init_distributed(cfg, args.launcher)
    dataset, ds_cfg = build_dataset(cfg, s['split'])

    from rgl.utils.run_identity import RunIdentity, check_output, \
        claim_output
    cascade, model_cfg = build_models(cfg, args, s)
    classes = getattr(dataset, 'metainfo', {}).get('classes')
    if classes and cascade.num_classes != len(classes):
        raise ConfigError(f'the classifier has {cascade.num_classes} '
                          f'classes but the dataset has {len(classes)}')
    device = torch.device(args.device or (
        f'cuda:{int(os.environ.get("LOCAL_RANK", 0))}'
        if torch.cuda.is_available() else 'cpu'))
    cascade.to(device).eval()

    columns = PREDICT_COLUMNS if args.predict else CERTIFY_COLUMNS
    keys = ['sigmas', 'skip_p', 'n', 'alpha', 'skip', 'max', 'split', 'seed']
    keys += ['unif_w'] if args.predict else ['n0']
    identity = RunIdentity(
        'certify_cascade_predict' if args.predict else 'certify_cascade',
        dict({k: s[k] for k in keys}, check_earlier=args.check_earlier,
             dataset=str(ds_cfg)),
        config=dict(model=model_cfg, smoothing=cfg.get('smoothing')),
        checkpoint=args.checkpoint)

    def claim():
        claim_output(args.out, identity, overwrite=args.overwrite,
                     members=(osp.basename(args.out) + '.part*', ))
        return merge_parts(args.out, columns)

    done = on_rank0(claim, rank, world)  # a refusal stops every rank
    if rank != 0:
        check_output(args.out, identity)
        done = _complete_rows(args.out, columns)[0]
    done = {int(line.split('\t', 1)[0]) for line in done}
    todo = [i for i in range(len(dataset)) if i % s['skip'] == 0 and
            (s['max'] < 0 or i < s['max']) and i not in done]
    mine = todo[rank::world]
    per_step = args.images_per_step or min(
        64, math.ceil(s['batch'] / (s['n'] if args.predict else s['n0'])))
    from tqdm import tqdm
    bar = tqdm(total=len(mine), disable=rank != 0, unit='img',
               desc=f'MDDS σ={s["sigmas"]} (rank 0 of {world})')
    with RowWriter(args.out, columns, rank, world) as out:
        for start in range(0, len(mine), per_step):
            idxs = mine[start:start + per_step]
            items = [dataset[i] for i in idxs]
            x = torch.stack([it['inputs'] for it in items]).to(device)
            labels = [int(it['data_samples'].gt_label.item()) for it in items]
            # the noise of image i comes from (seed, i) alone
            seeds = [(s['seed'], i) for i in idxs]
            rows = (predict_rows(cascade, x, idxs, labels, s, seeds,
                                 args.check_earlier) if args.predict else
                    certify_rows(cascade, x, idxs, labels, s, seeds))
            for fields in rows:
                out.write(fields)
            bar.update(len(idxs))
    bar.close()
    _barrier(world)
    if rank == 0:
        rows = merge_parts(args.out, columns)
        if args.predict:
            acc = sum(int(r.split('\t')[4]) for r in rows) / max(len(rows), 1)
            print(f'{args.out}: {len(rows)} images, accuracy '
                  f'{100 * acc:.1f}%')
        else:
            from rgl.evaluation.certification import (read_certify_tsv,
                                                      summarize)
            summary = summarize(read_certify_tsv(args.out),
                                [0.0, 0.25, 0.5, 0.75, 1.0])
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
