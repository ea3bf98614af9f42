"""MetaMAE against plain MAE on the bundled digits, several seeds.

    python tools/metamae/digits_proxy.py [--modality image|table|both] \
        [--seeds 0 1 2] [--work-dir work_dirs/metamae_proxy] \
        [--probe logreg] [--cfg-options k=v ...]

For each modality and seed this pre-trains the MetaMAE and the MAE digits
configs of configs/metamae/ with ``tools/train.py`` (equal budget: same
model, data, iterations, optimiser and seed), probes the frozen encoders
with ``tools/metamae/linear_probe.py`` (also the randomly initialised
encoder of the same seed, as a reference), and writes ``results.json`` and
a markdown table ``results.md`` to the work dir. Finished runs (their
probe JSON exists) are skipped, and so is the training of a run whose
checkpoint exists, so a killed sweep continues.
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = {
    'image': ('configs/metamae/metamae-tiny_1xb64-300it_digits.py',
              'configs/metamae/mae-tiny_1xb64-300it_digits.py'),
    'table': ('configs/metamae/metamae-tiny_1xb64-300it_digits-table.py',
              'configs/metamae/mae-tiny_1xb64-300it_digits-table.py'),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--modality', choices=['image', 'table', 'both'],
                   default='image')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--work-dir', default='work_dirs/metamae_proxy')
    p.add_argument('--probe', choices=['logreg', 'adam'], default='logreg')
    p.add_argument('--cfg-options', nargs='+', default=[],
                   help='passed to tools/train.py for every run')
    return p.parse_args(argv)


def run(cmd):
    print('+', ' '.join(cmd), flush=True)
    start = time.time()
    res = subprocess.run([sys.executable] + cmd, cwd=ROOT,
                         capture_output=True, text=True)
    if res.returncode:
        sys.stderr.write(res.stdout[-2000:] + res.stderr[-4000:])
        raise SystemExit(f'error: command failed ({res.returncode}): '
                         f'{" ".join(cmd)}')
    return time.time() - start


def one(config, seed, work, probe, cfg_options):
    name = osp.splitext(osp.basename(config))[0]
    out = osp.join(work, f'{name}_seed{seed}')
    result = osp.join(out, f'probe_{probe}.json')
    if osp.isfile(result):
        with open(result) as f:
            return json.load(f)
    last = osp.join(out, 'last_checkpoint')
    wall = float('nan')
    if not (osp.isfile(last) and osp.isfile(open(last).read().strip())):
        wall = run(['tools/train.py', config, '--work-dir', out,
                    '--cfg-options', f'randomness.seed={seed}'] +
                   cfg_options)
    ckpt = open(last).read().strip()
    run(['tools/metamae/linear_probe.py', config, ckpt, '--probe', probe,
         '--seed', str(seed), '--out', result])
    with open(result) as f:
        res = json.load(f)
    res['train_wall_s'] = wall
    with open(result, 'w') as f:
        json.dump(res, f, indent=2)
    return res


def random_init(config, seed, work, probe):
    result = osp.join(work, f'random-init_{osp.basename(config)}_seed{seed}'
                      f'_{probe}.json')
    if not osp.isfile(result):
        run(['tools/metamae/linear_probe.py', config, '--probe', probe,
             '--seed', str(seed), '--out', result])
    with open(result) as f:
        return json.load(f)


def fmt(values):
    mean = statistics.mean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f'{mean:.2f} ± {std:.2f}'


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(osp.join(ROOT, args.work_dir), exist_ok=True)
    work = osp.join(ROOT, args.work_dir)
    modalities = ['image', 'table'] if args.modality == 'both' \
        else [args.modality]
    rows, raw = [], {}
    for modality in modalities:
        meta_cfg, mae_cfg = CONFIGS[modality]
        accs = {'MetaMAE': [], 'MAE': [], 'random init': []}
        walls = {'MetaMAE': [], 'MAE': []}
        for seed in args.seeds:
            for label, cfg in (('MetaMAE', meta_cfg), ('MAE', mae_cfg)):
                res = one(cfg, seed, work, args.probe, args.cfg_options)
                accs[label].append(res['accuracy'])
                walls[label].append(res.get('train_wall_s', float('nan')))
            accs['random init'].append(
                random_init(meta_cfg, seed, work, args.probe)['accuracy'])
        raw[modality] = dict(accuracy=accs, train_wall_s=walls,
                             seeds=args.seeds)
        for label, values in accs.items():
            per_seed = ' / '.join(f'{v:.2f}' for v in values)
            wall = walls.get(label)
            wall = f'{statistics.mean(wall):.0f} s' if wall else '–'
            rows.append(f'| {modality} | {label} | {per_seed} | '
                        f'{fmt(values)} | {wall} |')
    table = '\n'.join(
        ['| digits as | encoder | top-1 per seed (%) | mean ± std (%) | '
         'train wall time |', '|---|---|---|---|---|'] + rows)
    with open(osp.join(work, 'results.json'), 'w') as f:
        json.dump(raw, f, indent=2)
    with open(osp.join(work, 'results.md'), 'w') as f:
        f.write(table + '\n')
    print(table)


if __name__ == '__main__':
    main()
