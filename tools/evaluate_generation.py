"""Score generated samples against a reference batch, as the ADM evaluator.

    python tools/evaluate_generation.py REF.npz SAMPLE.npz \
        --inception checkpoints/pt_inception-2015-12-05-6726825d.pth \
        [--out scores.json] [--batch-size 100] [--device cuda]

REF.npz: ``arr_0`` uint8 images (N, H, W, 3) (ADM's reference batches,
e.g. VIRTUAL_imagenet256_labeled.npz), optionally with precomputed ``mu``,
``sigma`` (and ``mu_s``, ``sigma_s`` for sFID), which are used for
FID/sFID as ADM does; a statistics-only file gives FID/sFID without
precision/recall. SAMPLE.npz: ``arr_0`` uint8 images (tools/sample.py).
Prints a markdown table; ``--out`` writes the scores as JSON.
"""
import argparse
import json
import os
import os.path as osp
import sys

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from rgl.utils.cli import run_cli  # noqa: E402
from rgl.utils.errors import ConfigError, DataError  # noqa: E402

LABELS = [('fid', 'FID'), ('sfid', 'sFID'), ('inception_score', 'IS'),
          ('precision', 'Precision'), ('recall', 'Recall')]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('ref', help='reference batch .npz (images or mu/sigma)')
    p.add_argument('sample', help='sample batch .npz (arr_0 uint8 NHWC)')
    p.add_argument('--inception', required=True,
                   help='local pt_inception-2015-12-05 weights '
                   '(pytorch-fid layout); "random" for smoke tests only')
    p.add_argument('--out', help='write the scores to this JSON file')
    p.add_argument('--batch-size', type=int, default=100)
    p.add_argument('--device', default='cpu')
    p.add_argument('--save-ref-stats',
                   help='write the reference mu/sigma/mu_s/sigma_s (and '
                   'arr_0 when given) to this .npz, reusable as REF')
    p.add_argument('--frechet-method', choices=['sqrtm', 'eigh'],
                   default='sqrtm', help='sqrtm: ADM\'s computation; eigh: '
                   'the same value for PSD covariances, much faster on CPU')
    return p.parse_args(argv)


def read_npz(path, key):
    if not osp.isfile(path):
        raise DataError(f'{key}: no file {path}')
    try:
        data = np.load(path)
        return {k: data[k] for k in data.files}
    except (OSError, ValueError) as err:
        raise DataError(f'{key}: cannot read {path} as .npz ({err})') \
            from None


def markdown_table(scores):
    cols = [(k, name) for k, name in LABELS if k in scores]
    head = '| ' + ' | '.join(name for _, name in cols) + ' |'
    rule = '|' + '|'.join('---' for _ in cols) + '|'
    row = '| ' + ' | '.join(f'{scores[k]:.4f}' for k, _ in cols) + ' |'
    return '\n'.join([head, rule, row])


def save_ref_stats(path, ref, feats):
    from rgl.evaluation.generation import feature_statistics
    out = {k: feats[k] for k in ('mu', 'sigma', 'mu_s', 'sigma_s')
           if k in feats}
    if 'mu' not in out:
        out['mu'], out['sigma'] = feature_statistics(feats['pool'])
    if 'mu_s' not in out and 'spatial' in feats:
        out['mu_s'], out['sigma_s'] = feature_statistics(feats['spatial'])
    if 'arr_0' in ref:
        out['arr_0'] = ref['arr_0']
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    np.savez(path, **out)


def main(argv=None):
    import torch

    from rgl.evaluation.generation import (FIDInceptionV3,
                                           extract_inception_features,
                                           generation_metrics)
    args = parse_args(argv)
    ref, sample = read_npz(args.ref, 'REF'), read_npz(args.sample, 'SAMPLE')
    if 'arr_0' not in sample:
        raise DataError(f'SAMPLE {args.sample} has no `arr_0` images (has '
                        f'{sorted(sample)})')
    if 'arr_0' not in ref and not {'mu', 'sigma'} <= set(ref):
        raise DataError(f'REF {args.ref} has neither `arr_0` images nor '
                        f'`mu`/`sigma` statistics (has {sorted(ref)})')
    if args.inception == 'random':
        torch.manual_seed(0)
        model = FIDInceptionV3(None)
    elif not osp.isfile(args.inception):
        raise ConfigError(f'--inception: no file {args.inception}')
    else:
        model = FIDInceptionV3(args.inception)
    model.to(args.device)
    ref_feats = {k: ref[k] for k in ('mu', 'sigma', 'mu_s', 'sigma_s')
                 if k in ref}
    if 'arr_0' in ref:
        ref_feats.update(extract_inception_features(
            model, ref['arr_0'], args.batch_size, desc='reference'))
    if args.save_ref_stats:
        save_ref_stats(args.save_ref_stats, ref, ref_feats)
    smp_feats = extract_inception_features(model, sample['arr_0'],
                                           args.batch_size, desc='samples')
    scores = generation_metrics(ref_feats, smp_feats,
                                frechet_method=args.frechet_method)
    scores['num_samples'] = int(len(sample['arr_0']))
    print(markdown_table(scores))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(scores, f, indent=2)
    return scores


if __name__ == '__main__':
    run_cli(main)
