"""Certified accuracy, ACR, tables and plots from certification TSVs.

    python tools/analyze_certify.py gauss.tsv catrs.tsv \\
        --names Gaussian CAT-RS \\
        --radii 0 0.25 0.5 0.75 1.0 --markdown table.md --latex table.tex \\
        --plot curves.png [--alpha 0.001 --rho 0.001]

Reads rgl's and locuslab/smoothing's TSVs alike. ``--alpha/--rho`` apply
Cohen et al.'s high-probability correction: the corrected certified
accuracy holds with probability 1 - rho when every certificate holds with
probability 1 - alpha.
"""
import argparse
import json
import os.path as osp

import rgl  # noqa: F401
from rgl.utils.cli import run_cli
from rgl.utils.errors import ConfigError

DEFAULT_RADII = [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Analyse certification TSVs')
    p.add_argument('tsv', nargs='+', help='outputs of tools/certify.py')
    p.add_argument('--names', nargs='+', help='one label per TSV')
    p.add_argument('--radii', nargs='+', type=float, default=DEFAULT_RADII)
    p.add_argument('--alpha', type=float,
                   help='certification failure probability, for the '
                   'high-probability correction')
    p.add_argument('--rho', type=float, help='failure probability of the '
                   'corrected accuracy (needs --alpha)')
    p.add_argument('--markdown', help='write the markdown table here')
    p.add_argument('--latex', help='write the LaTeX table here')
    p.add_argument('--plot', help='write certified accuracy vs radius (PNG)')
    p.add_argument('--max-radius', type=float, help='x-axis limit of --plot')
    p.add_argument('--json', help='write all numbers here')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from rgl.evaluation.certification import (latex_table, markdown_table,
                                              plot_certified_accuracy,
                                              read_certify_tsv, summarize)
    names = args.names or [osp.splitext(osp.basename(p))[0]
                           for p in args.tsv]
    if len(names) != len(args.tsv):
        raise ConfigError(f'--names has {len(names)} labels for '
                          f'{len(args.tsv)} TSV files')
    if (args.alpha is None) != (args.rho is None):
        raise ConfigError('--alpha and --rho go together (high-probability '
                          'correction)')
    runs = {
        name: read_certify_tsv(path)
        for name, path in zip(names, args.tsv)
    }
    summaries = {name: summarize(rows, args.radii, args.alpha, args.rho)
                 for name, rows in runs.items()}
    table = markdown_table(summaries, args.radii)
    print(table, end='')
    for name, s in summaries.items():
        print(f'{name}: {s["num_images"]} images, abstained '
              f'{100 * s["abstain_rate"]:.1f}%')
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write(table)
    if args.latex:
        with open(args.latex, 'w') as f:
            f.write(latex_table(summaries, args.radii))
    if args.plot:
        plot_certified_accuracy(runs, args.plot, max_radius=args.max_radius)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(summaries, f, indent=2)
    return summaries


if __name__ == '__main__':
    run_cli(main)
