"""Training curves and iteration times from mmengine's scalar logs.

    python tools/analysis_tools/analyze_logs.py plot_curve LOG [LOG ...] \\
        --keys loss accuracy/top1 --legend run_a run_b --out curves.png
    python tools/analysis_tools/analyze_logs.py cal_train_time LOG [LOG ...]

LOG is a ``scalars.json`` (``WORK_DIR/<timestamp>/vis_data/scalars.json``,
one JSON record a line, written by mmengine's ``LocalVisBackend``), a
``<timestamp>`` folder, or a work_dir (its latest run). Training records
carry ``iter`` (and ``epoch`` in epoch-based loops); validation records do
not, and their ``step`` is the epoch (epoch-based) or the iteration. Every
curve is drawn against the training iteration: a validation metric of epoch
``e`` sits at the last logged iteration of that epoch.
"""
import argparse
import glob
import json
import os.path as osp
from collections import defaultdict

from rgl.utils.cli import run_cli
from rgl.utils.config import check_writable
from rgl.utils.errors import ConfigError, DataError


def find_scalars(path):
    """``path`` or the newest ``*/vis_data/scalars.json`` below it."""
    if osp.isfile(path):
        return path
    if not osp.isdir(path):
        raise DataError(f'log {path} does not exist')
    for pattern in ('vis_data/scalars.json', '*/vis_data/scalars.json'):
        found = sorted(glob.glob(osp.join(path, pattern)))
        if found:
            return found[-1]  # timestamps sort in time order
    raise DataError(f'no vis_data/scalars.json under {path} (is it a '
                    'work_dir of a run with LocalVisBackend?)')


def load_log(path):
    """``(train, val)``: lists of the training and validation records of
    one scalars.json, in file order."""
    file = find_scalars(path)
    train, val = [], []
    with open(file) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f'{file}, line {lineno} is not a JSON '
                                f'record: {err.msg}') from None
            if not isinstance(record, dict) or 'step' not in record:
                raise DataError(f'{file}, line {lineno} is not an mmengine '
                                'scalar record (no "step")')
            (train if 'iter' in record else val).append(record)
    if not train and not val:
        raise DataError(f'{file} holds no records')
    return train, val


def val_iterations(train, val):
    """The training iteration of each validation record (epoch-based: the
    last logged iteration of its epoch)."""
    epoch_end = {}
    for record in train:
        if 'epoch' in record:
            epoch_end[record['epoch']] = max(
                epoch_end.get(record['epoch'], 0), record['iter'])
    if not epoch_end:  # iteration-based loop: step is the iteration
        return [r['step'] for r in val]
    return [epoch_end.get(r['step'], r['step']) for r in val]


def curve(train, val, key):
    """``(iterations, values)`` of ``key``, or None when it is absent."""
    if any(key in r for r in train):
        pairs = [(r['iter'], r[key]) for r in train if key in r]
    elif any(key in r for r in val):
        pairs = [(x, r[key]) for x, r in zip(val_iterations(train, val), val)
                 if key in r]
    else:
        return None
    xs, ys = zip(*pairs)
    return list(xs), list(ys)


def available_keys(train, val):
    keys = dict.fromkeys(k for r in train + val for k in r)
    for k in ('step', 'iter', 'epoch'):
        keys.pop(k, None)
    return list(keys)


def plot_curve(args):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    logs = [load_log(p) for p in args.logs]
    legend = args.legend
    if legend is not None and len(legend) != len(logs) * len(args.keys):
        raise ConfigError(f'--legend needs {len(logs) * len(args.keys)} '
                          f'names (logs x keys), got {len(legend)}')
    check_writable(args.out, flag='--out')
    fig, ax = plt.subplots(figsize=(7, 4.5))
    drawn = 0
    for i, (path, (train, val)) in enumerate(zip(args.logs, logs)):
        for j, key in enumerate(args.keys):
            points = curve(train, val, key)
            if points is None:
                raise DataError(
                    f'{find_scalars(path)} has no {key!r}; it has '
                    f'{", ".join(available_keys(train, val))}')
            label = legend[i * len(args.keys) + j] if legend else (
                f'{osp.basename(osp.normpath(path))} {key}'
                if len(logs) > 1 else key)
            marker = 'o' if not any(key in r for r in train) else None
            ax.plot(*points, label=label, marker=marker, linewidth=1.2)
            drawn += 1
    ax.set_xlabel('iteration')
    ax.set_ylabel(args.keys[0] if len(args.keys) == 1 else 'value')
    if args.title:
        ax.set_title(args.title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    plt.close(fig)
    print(f'{drawn} curve(s) -> {args.out}')


def train_times(train, include_outliers=False):
    """``{epoch (or 0): [iteration times]}``; without outliers the first
    record of the run is dropped (data loader start-up)."""
    by_epoch = defaultdict(list)
    records = [r for r in train if 'time' in r]
    if not include_outliers:
        records = records[1:]
    for r in records:
        by_epoch[r.get('epoch', 0)].append(r['time'])
    return dict(by_epoch)


def cal_train_time(args):
    import numpy as np
    for path in args.logs:
        train, _ = load_log(path)
        times = train_times(train, args.include_outliers)
        if not times:
            raise DataError(f'{find_scalars(path)} has no training "time" '
                            'records')
        print(f'-----Analyze train time of {find_scalars(path)}-----')
        means = {e: float(np.mean(t)) for e, t in times.items()}
        if len(means) > 1:
            slowest = max(means, key=means.get)
            fastest = min(means, key=means.get)
            print(f'slowest epoch {slowest}, average time is '
                  f'{means[slowest]:.4f} s/iter')
            print(f'fastest epoch {fastest}, average time is '
                  f'{means[fastest]:.4f} s/iter')
            print(f'time std over epochs is '
                  f'{np.std(list(means.values())):.4f}')
        every = [t for ts in times.values() for t in ts]
        print(f'average iter time: {np.mean(every):.4f} s/iter')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    tasks = parser.add_subparsers(dest='task', required=True)
    plot = tasks.add_parser('plot_curve', help='plot scalars against the '
                            'training iteration')
    plot.add_argument('logs', nargs='+',
                      help='scalars.json files, run folders or work_dirs')
    plot.add_argument('--keys', nargs='+', default=['loss'],
                      help='scalars to plot (default: loss)')
    plot.add_argument('--legend', nargs='+',
                      help='one name per (log, key), logs outer')
    plot.add_argument('--title')
    plot.add_argument('--out', required=True, help='output image (PNG)')
    timing = tasks.add_parser('cal_train_time',
                              help='average training iteration time')
    timing.add_argument('logs', nargs='+')
    timing.add_argument('--include-outliers', action='store_true',
                        help='keep the first record (start-up)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.task == 'plot_curve':
        plot_curve(args)
    else:
        cal_train_time(args)


if __name__ == '__main__':
    run_cli(main)
