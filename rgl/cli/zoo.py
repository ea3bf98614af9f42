"""``rgl list``: the model zoo as a table, filtered by family, task and
dataset.

    rgl list                                   # every config of the zoo
    rgl list --family smoothing --dataset digits
    rgl list --task generation --format markdown
    rgl list catrs_smallconvnet --details      # results, weights, commands
    rgl list --check                           # validate every metafile
    python tools/misc/list_models.py ...       # the same, from a checkout

"Measured here" is rgl's own run on the project's 2-core CPU machine
(small proxy data and budgets, see each folder's README.md); "Paper" is the
paper's or its official release's number. Neither is shown where none
exists. ``rgl tools`` (or ``rgl list tools``) lists the tools instead.
"""
import argparse
import sys

from rgl.utils.errors import ConfigError
from rgl.utils.model_zoo import (check_zoo, filter_models, format_details,
                                 format_markdown, format_table, scan_zoo,
                                 update_doc)


def build_parser(prog='rgl list'):
    parser = argparse.ArgumentParser(
        prog=prog,
        description='List the model zoo (configs/*/metafile.yml) as a '
        'table. "Measured here" = rgl runs on a 2-core CPU proxy; "Paper" = '
        'the paper or its official release. `rgl tools` lists the tools.')
    parser.add_argument(
        'names', nargs='*', metavar='NAME',
        help='part of a config name, or FAMILY/NAME (repa/sit_xl): keep '
        'the configs that match one of these')
    parser.add_argument(
        '--family', action='append', metavar='F',
        help='a folder under configs/ (smoothing, repa, ...) or a method '
        '(CAT-RS, MDDS, ...); repeat for several')
    parser.add_argument(
        '--task', action='append', metavar='T',
        help='part of a task name, e.g. certified, generation, anomaly')
    parser.add_argument(
        '--dataset', action='append', metavar='D',
        help='part of a dataset name, e.g. digits, cifar10, imagenet')
    parser.add_argument(
        '--format', choices=('table', 'markdown', 'names', 'configs'),
        default='table',
        help='table (default, fits the terminal), markdown, names, or '
        'config paths (one a line, for scripts)')
    parser.add_argument(
        '--width', type=int, default=None,
        help='table width in characters (default: the terminal\'s)')
    parser.add_argument(
        '--details', action='store_true',
        help='every result, the weights and the command that makes them')
    parser.add_argument(
        '--check', action='store_true',
        help='validate every metafile and load every listed config; '
        'exit 1 on a problem')
    parser.add_argument(
        '--update-doc', metavar='MD',
        help='rewrite the generated table in this Markdown file '
        '(docs/model_zoo.md) from the unfiltered zoo')
    return parser


def main(argv=None, prog='rgl list'):
    args = build_parser(prog).parse_args(argv)
    if args.check:
        problems = check_zoo()
        for problem in problems:
            print(f'error: {problem}', file=sys.stderr)
        if not problems:
            models, _ = scan_zoo()
            print(f'ok: {len(models)} configs in the zoo, every one listed '
                  'and loadable')
        return 1 if problems else 0
    models, problems = scan_zoo()
    if problems:
        # list what can be listed: a checkout may hold a config whose
        # metafile entry is still to come (the tests fail on it)
        print(f'warning: the model zoo has {len(problems)} problem(s), '
              f'e.g. {problems[0]} (`rgl list --check` shows all)',
              file=sys.stderr)
    if not models:
        print('error: no metafile found under configs/', file=sys.stderr)
        return 2
    if args.update_doc:
        try:
            changed = update_doc(args.update_doc, models)
        except (ConfigError, OSError) as err:
            print(f'error: {err}', file=sys.stderr)
            return 2
        print(f'{args.update_doc}: '
              f'{"updated" if changed else "already up to date"} '
              f'({len(models)} configs)')
        return 0
    shown = filter_models(models, family=args.family, task=args.task,
                          dataset=args.dataset, name=args.names or None)
    if not shown:
        _explain_empty(models, args)
        return 1
    if args.details:
        print('\n\n'.join(format_details(m) for m in shown))
    elif args.format == 'markdown':
        print(format_markdown(shown))
    elif args.format == 'names':
        print('\n'.join(m.name for m in shown))
    elif args.format == 'configs':
        print('\n'.join(m.config for m in shown))
    else:
        print(format_table(shown, width=args.width))
        if len(shown) > 1:
            print(f'\n{len(shown)} of {len(models)} configs. "Measured '
                  'here": rgl on a 2-core CPU proxy (small data, short '
                  'runs); "Paper": the paper or its release. `rgl list '
                  'NAME --details` shows every result and how to get the '
                  'weights.')
    return 0


def _explain_empty(models, args):
    def values(get):
        out = sorted({v for m in models for v in get(m)})
        return ', '.join(out)

    print('error: no config matches the filters', file=sys.stderr)
    if args.family:
        print('  families: ' + values(lambda m: (m.family,)),
              file=sys.stderr)
        print('  methods: ' + values(lambda m: (m.collection,)),
              file=sys.stderr)
    if args.task:
        print('  tasks: ' + values(lambda m: m.tasks), file=sys.stderr)
    if args.dataset:
        print('  datasets: ' + values(lambda m: m.datasets),
              file=sys.stderr)


if __name__ == '__main__':
    sys.exit(main())
