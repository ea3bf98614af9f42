"""TIA2 evaluation of reward models and TextNorm (Kim et al., ICLR 2024).

Score the TIA2 images with the reward models of a config, calibrate them
over contrastive prompts, and write per-prompt AUROC/AUPRC/AP@k/Spearman/
Kendall in the layout of the released ``alignment_scores_*.json``::

    python tools/textnorm/evaluate_tia2.py score CONFIG \
        --labels human_labels_counting.json --images IMAGE_DIR \
        [--prompt-set prompt_set_counting.json] [--out scores.json]

Print the prompt-averaged table of a released (or written) scores file::

    python tools/textnorm/evaluate_tia2.py table alignment_scores_counting.json

Report how many released contrastive prompts the rule-based generators
write exactly::

    python tools/textnorm/evaluate_tia2.py generators \
        prompt_set_counting.json --rule counting
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from rgl.utils.cli import run_cli  # noqa: E402
from rgl.utils.errors import ConfigError, DataError  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='TIA2 evaluation (TextNorm)')
    sub = p.add_subparsers(dest='command', required=True)
    s = sub.add_parser('score', help='score images, write per-prompt '
                       'metrics and print the table')
    s.add_argument('config', help='config with `reward_models` and '
                   '`textnorm` (see configs/textnorm/)')
    s.add_argument('--labels', required=True, help='human_labels_*.json')
    s.add_argument('--images', required=True, help='folder of the images')
    s.add_argument('--prompt-set', help='prompt_set_*.json (replaces the '
                   "config's prompt generator)")
    s.add_argument('--out', help='where to write the per-prompt scores '
                   '(default: next to nothing; printed only)')
    s.add_argument('--device', default='cpu')
    s.add_argument('--cfg-options', nargs='+', default=[],
                   help='KEY=VALUE overrides of the config')
    t = sub.add_parser('table', help='print the prompt-averaged table of '
                       'alignment_scores files')
    t.add_argument('files', nargs='+')
    g = sub.add_parser('generators', help='fraction of released '
                       'contrastive prompts the rules reproduce')
    g.add_argument('prompt_set')
    g.add_argument('--rule', choices=('counting', 'composition'),
                   required=True)
    g.add_argument('--first', type=int, help='compare only the first N '
                   'contrastive prompts of each entry (composition: 12 are '
                   'rule-based, the rest LLM-written)')
    return p.parse_args(argv)


def print_tables(files):
    from rgl.datasets.tia2 import load_alignment_scores
    from rgl.evaluation.metrics.ranking import format_table, prompt_average
    for path in files:
        scores = load_alignment_scores(path)
        print(format_table(prompt_average(scores),
                           title=f'{osp.basename(path)} '
                           f'({len(scores)} prompts, prompt average)'))
        print()


def check_generators(args):
    from rgl.models.rewards import (CompositionPrompts, CountingPrompts,
                                    load_prompt_set, reproduction_rate)
    released = load_prompt_set(args.prompt_set)
    gen = CountingPrompts() if args.rule == 'counting' else \
        CompositionPrompts()
    r = reproduction_rate(gen, released, args.first)
    print(f'{args.rule} rules on {osp.basename(args.prompt_set)}: '
          f'{r["matched"]}/{r["total"]} released contrastive prompts '
          f'generated exactly ({r["fraction"]:.1%}); '
          f'{r["exact_prompts"]}/{r["prompts"]} prompts reproduced in full')
    return r


def load_images(paths):
    import numpy as np
    import torch
    from PIL import Image
    out = []
    for path in paths:
        try:
            with Image.open(path) as im:
                arr = np.asarray(im.convert('RGB'))
        except OSError as err:
            raise DataError(f'cannot read image {path}: {err}') from None
        out.append(torch.from_numpy(arr.copy()).permute(2, 0, 1).float()
                   / 255)
    return out


def build_textnorm(cfg, prompt_set, device):
    from rgl.models.rewards import TextNormReward
    from rgl.registry import MODELS
    if 'reward_models' not in cfg or not cfg.reward_models:
        raise ConfigError(f'{cfg.filename}: `reward_models` (name -> reward '
                          'model config) is required')
    tn = dict(cfg.get('textnorm', {}))
    generator = tn.pop('prompt_generator', None)
    if prompt_set is not None:
        generator = dict(type='PromptSet', path=prompt_set)
    if generator is None:
        raise ConfigError('textnorm.prompt_generator is required (or pass '
                          '--prompt-set)')
    names = list(cfg.reward_models)
    models = [MODELS.build(dict(cfg.reward_models[n])) for n in names]
    textnorm = TextNormReward(models, generator, **tn).to(device)
    return names, textnorm


def score(args):
    import torch
    from mmengine.config import Config, DictAction
    from tqdm import tqdm

    import rgl  # noqa: F401  (registers rgl's modules)
    from rgl.datasets.tia2 import check_images, load_human_labels
    from rgl.evaluation.metrics.ranking import (alignment_scores,
                                                format_table, prompt_average)
    if not osp.isfile(args.config):
        raise ConfigError(f'config not found: {args.config}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        opts = argparse.Namespace()
        DictAction(option_strings=[], dest='o')(None, opts, args.cfg_options)
        cfg.merge_from_dict(opts.o)
    names, textnorm = build_textnorm(cfg, args.prompt_set, args.device)
    groups = load_human_labels(args.labels)
    paths = check_images(groups, args.images, args.labels)
    key = f'textnorm_{textnorm.mode}'
    per_model = {n: {} for n in names + [key]}
    for prompt in tqdm(list(groups), desc='TIA2 prompts', unit='prompt',
                       file=sys.stdout, disable=None):
        images = load_images(paths[prompt])
        with torch.no_grad():
            out = textnorm.score_all(images, [prompt] * len(images))
        for m, n in enumerate(names):
            per_model[n][prompt] = out['raw'][m].numpy()
        per_model[key][prompt] = out['textnorm'].numpy()
    result = alignment_scores(groups, per_model)
    for entry in result.values():
        # the released files carry the ensemble's settings per prompt
        entry[key].update(scale=1.0 / textnorm.taus[0])
        if textnorm.mode == 'ur':
            entry[key]['lambda'] = textnorm.lam
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)
        print(f'per-prompt scores of {len(result)} prompts written to '
              f'{args.out}')
    print(format_table(prompt_average(result),
                       title=f'{osp.basename(args.labels)} ({len(result)} '
                       'prompts with both labels, prompt average)'))
    return result


def main(argv=None):
    args = parse_args(argv)
    if args.command == 'table':
        return print_tables(args.files)
    if args.command == 'generators':
        return check_generators(args)
    return score(args)


if __name__ == '__main__':
    run_cli(main)
