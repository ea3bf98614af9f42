"""Run a WinCLIP config on every category and gather one markdown table.

    python tools/anomaly/summarize.py CONFIG --data-root data/mvtec_ad \
        --work-dir work_dirs/winclip_0shot_mvtec [--categories bottle screw]
        [--gather-only] [--overlays 4] [--cfg-options ...]

Each category runs ``tools/test.py CONFIG`` with its ``category`` (and
``data_root`` for the test set and the few-shot reference set), writing
``<work-dir>/<category>/metrics.json``; ``--gather-only`` reads those files
instead. The table (one row per category and their mean) is printed and
written to ``<work-dir>/summary.md``. ``--overlays N`` also saves N
anomaly-map overlays per category (``tools/anomaly/save_overlays.py``).
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys

from mmengine.config import Config, DictAction

import rgl  # noqa: F401
from rgl.utils.cli import run_cli
from rgl.utils.errors import ConfigError, DataError

COLUMNS = (('image_AUROC', 'i-AUROC'), ('image_AUPR', 'i-AUPR'),
           ('image_F1max', 'i-F1max'), ('pixel_AUROC', 'p-AUROC'),
           ('pixel_AUPR', 'p-AUPR'), ('pixel_F1max', 'p-F1max'),
           ('pixel_AUPRO', 'AUPRO'))
HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--work-dir', required=True)
    p.add_argument('--data-root', help='dataset root (test and reference)')
    p.add_argument('--categories', nargs='+',
                   help='default: every category of the dataset type')
    p.add_argument('--gather-only', action='store_true',
                   help='only read <work-dir>/<category>/metrics.json')
    p.add_argument('--overlays', type=int, default=0,
                   help='save this many overlay PNGs per category')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   default={})
    return p.parse_args(argv)


def default_categories(cfg):
    from rgl.datasets.anomaly import MVTEC_CATEGORIES, VISA_CATEGORIES
    kind = cfg.test_dataloader.dataset.type
    known = dict(MVTecADDataset=MVTEC_CATEGORIES,
                 VisADataset=VISA_CATEGORIES)
    if kind not in known:
        raise ConfigError(f'--categories is required for dataset {kind}')
    return list(known[kind])


def category_options(cfg, category, data_root):
    """``--cfg-options`` pairs that point a config at one category."""
    opts = {'test_dataloader.dataset.category': category}
    if data_root:
        opts['test_dataloader.dataset.data_root'] = data_root
        if cfg.model.get('reference'):
            opts['model.reference.dataset.data_root'] = data_root
    return opts


def run_category(args, cfg, category):
    out_dir = osp.join(args.work_dir, category)
    opts = dict(category_options(cfg, category, args.data_root),
                **args.cfg_options)
    cmd = [sys.executable, osp.join(REPO, 'tools/test.py'), args.config,
           '--work-dir', out_dir, '--out', osp.join(out_dir, 'metrics.json'),
           '--cfg-options'] + [f'{k}={_fmt(v)}' for k, v in opts.items()]
    print(f'[{category}]', ' '.join(cmd[1:]), flush=True)
    done = subprocess.run(cmd)
    if done.returncode != 0:
        raise DataError(f'tools/test.py failed for category {category} '
                        f'(exit {done.returncode}); see its output above')
    if args.overlays:
        from save_overlays import save_overlays
        save_overlays(args.config, osp.join(out_dir, 'overlays'),
                      args.overlays,
                      dict(opts))


def _fmt(value):
    return json.dumps(value) if not isinstance(value, str) else value


def read_metrics(work_dir, category):
    path = osp.join(work_dir, category, 'metrics.json')
    if not osp.isfile(path):
        raise DataError(f'no metrics for category {category}: {path} is '
                        'missing (run without --gather-only first)')
    with open(path) as f:
        raw = json.load(f)
    return {k.split('/')[-1]: v for k, v in raw.items()}


def markdown_table(rows):
    """``rows``: {category: {metric: value}} -> markdown with a mean row."""
    keys = [k for k, _ in COLUMNS if any(k in r for r in rows.values())]
    names = dict(COLUMNS)
    lines = ['| category | ' + ' | '.join(names[k] for k in keys) + ' |',
             '|---|' + '---:|' * len(keys)]
    for cat, r in rows.items():
        lines.append(f'| {cat} | ' + ' | '.join(
            f'{r[k]:.1f}' if k in r else '-' for k in keys) + ' |')
    mean = {k: sum(r[k] for r in rows.values() if k in r) /
            max(1, sum(k in r for r in rows.values())) for k in keys}
    lines.append('| **mean** | ' + ' | '.join(f'**{mean[k]:.1f}**'
                                              for k in keys) + ' |')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    categories = args.categories or default_categories(cfg)
    os.makedirs(args.work_dir, exist_ok=True)
    if not args.gather_only:
        for cat in categories:
            run_category(args, cfg, cat)
    rows = {cat: read_metrics(args.work_dir, cat) for cat in categories}
    table = markdown_table(rows)
    with open(osp.join(args.work_dir, 'summary.md'), 'w') as f:
        f.write(f'`{args.config}`\n\n' + table)
    print(table)
    return rows


if __name__ == '__main__':
    sys.path.insert(0, HERE)
    run_cli(main)
