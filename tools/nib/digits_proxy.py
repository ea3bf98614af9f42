"""The digits proxy of NIB: NIB against the same backbone trained with
cross-entropy alone, on the three reliability measures, over seeds.

    python tools/nib/digits_proxy.py --work-dir work_dirs/nib_proxy \
        [--seeds 0 1 2] [--certify-skip 2] [--markdown table.md]

For each seed and method it runs tools/train.py, then
tools/nib/evaluate_reliability.py (clean accuracy, novelty AUROC of the
held-out digit 9, mean accuracy over the corruptions x severities) and
tools/certify.py (σ from the config's certify_cfg; ACR and certified
accuracy at radius 0.25), and prints a table of mean ± std over seeds.
Finished steps are reused when their outputs exist.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

from rgl.utils.cli import run_cli  # noqa: E402

METHODS = dict(
    ce='configs/nib/ce_smallconvnet_1xb64-20e_digits-holdout9.py',
    nib='configs/nib/nib_smallconvnet_1xb64-20e_digits-holdout9.py')
COLUMNS = [('clean_accuracy', 'clean acc. (%)'),
           ('novelty_auroc', 'novelty AUROC, digit 9 (%)'),
           ('mean_corruption_accuracy', 'mean corruption acc. (%)'),
           ('acr', 'ACR (σ=0.25)'),
           ('certified_025', 'certified acc. r=0.25 (%)')]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--work-dir', default='work_dirs/nib_proxy')
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    p.add_argument('--methods', nargs='+', default=list(METHODS),
                   choices=list(METHODS))
    p.add_argument('--certify-skip', type=int, default=2,
                   help='certify every k-th test image')
    p.add_argument('--markdown', help='also write the table here')
    return p.parse_args(argv)


def _run(cmd):
    proc = subprocess.run([sys.executable] + cmd, cwd=ROOT,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f'{" ".join(cmd)} failed:\n{proc.stderr[-2000:]}')
    return proc.stdout


def run_one(config, seed, work_dir, skip):
    ckpt = osp.join(work_dir, 'epoch_20.pth')
    if not osp.isfile(ckpt):
        _run(['tools/train.py', config, '--work-dir', work_dir,
              '--cfg-options', f'randomness.seed={seed}'])
    rel_path = osp.join(work_dir, 'reliability.json')
    if not osp.isfile(rel_path):
        _run(['tools/nib/evaluate_reliability.py', config, ckpt, '--out',
              rel_path])
    with open(rel_path) as f:
        result = json.load(f)
    tsv = osp.join(work_dir, 'certify.tsv')
    _run(['tools/certify.py', config, ckpt, '--out', tsv, '--skip',
          str(skip)])  # resumes (returns at once) when already finished
    from rgl.evaluation.certification import read_certify_tsv, summarize
    summary = summarize(read_certify_tsv(tsv), [0.25])
    result.update(acr=summary['acr'],
                  certified_025=100 * summary['certified_accuracy'][0])
    return result


def _mean_std(values):
    import numpy as np
    v = np.asarray(values, dtype=float)
    return f'{v.mean():.2f} ± {v.std(ddof=1) if len(v) > 1 else 0:.2f}'


def main(argv=None):
    args = parse_args(argv)
    results = {m: [] for m in args.methods}
    for seed in args.seeds:
        for method in args.methods:
            wd = osp.join(args.work_dir, f'{method}_seed{seed}')
            res = run_one(METHODS[method], seed, wd, args.certify_skip)
            results[method].append(res)
            print(f'{method} seed {seed}: ' + ', '.join(
                f'{k} {res[k]:.3f}' for k, _ in COLUMNS), flush=True)
    lines = ['| method | ' + ' | '.join(t for _, t in COLUMNS) + ' |',
             '|---' * (len(COLUMNS) + 1) + '|']
    for method, rows in results.items():
        lines.append(f'| {method} | ' + ' | '.join(
            _mean_std([r[k] for r in rows]) for k, _ in COLUMNS) + ' |')
    table = '\n'.join(lines)
    print(f'mean ± std over seeds {args.seeds}:\n{table}')
    os.makedirs(args.work_dir, exist_ok=True)
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(results, f, indent=2)
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write(table + '\n')
    return results


if __name__ == '__main__':
    run_cli(main)
