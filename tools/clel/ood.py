"""Out-of-distribution detection by a CLEL's energy, scored by AUROC.

    python tools/clel/ood.py CONFIG CHECKPOINT [--ood inverted uniform] \
        [--out ood.json] [--batch-size 256]

The score of an image is E(x) − β·cos(z(x), h(t(x))) (the energy alone
for a model without a guide): higher means further from the data. The
in-distribution set is the config's held-out ``ood_in_dataset``; each
``--ood`` name is a dataset config in the config's ``ood_datasets`` or
``uniform`` (U[0, 1] noise images). AUROC (rgl.evaluation) treats the
OOD images as positives.
"""
import argparse
import json
import os.path as osp
import sys

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from rgl.utils.cli import run_cli  # noqa: E402
from rgl.utils.errors import ConfigError  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--ood', nargs='+', default=None,
                   help='names in the config\'s ood_datasets, or uniform '
                   '(default: all of ood_datasets and uniform)')
    p.add_argument('--key', default='state_dict')
    p.add_argument('--batch-size', type=int, default=256)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', help='write the AUROCs to this JSON file')
    p.add_argument('--device', default=None)
    from mmengine.config import DictAction
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(argv)


def dataset_images(dataset_cfg):
    from rgl.registry import DATASETS
    data = DATASETS.build(dataset_cfg)
    x = torch.stack([torch.as_tensor(data[i]['inputs'])
                     for i in range(len(data))])
    return x.float() / 255 if x.dtype == torch.uint8 else x.float()


@torch.no_grad()
def scores(model, images, batch_size, device):
    return torch.cat([
        model.ood_score(images[i:i + batch_size].to(device)).cpu()
        for i in range(0, len(images), batch_size)]).numpy()


def main(argv=None):
    from rgl.evaluation.metrics.anomaly import auroc
    from rgl.utils.config import load_config
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from sample import load_model
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    if 'ood_in_dataset' not in cfg:
        raise ConfigError(f'{args.config}: ood_in_dataset (the held-out '
                          'in-distribution set) is not set')
    named = dict(cfg.get('ood_datasets') or {})
    names = args.ood or [*named, 'uniform']
    for name in names:
        if name != 'uniform' and name not in named:
            raise ConfigError(f'--ood {name}: not in the config\'s '
                              f'ood_datasets ({sorted(named)}) nor uniform')
    device = torch.device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    model = load_model(cfg, args.checkpoint, args.key, device)
    torch.manual_seed(args.seed)  # the guide's augmentation t(x)
    x_in = dataset_images(cfg.ood_in_dataset)
    s_in = scores(model, x_in, args.batch_size, device)
    results = {}
    for name in names:
        if name == 'uniform':
            gen = torch.Generator().manual_seed(args.seed)
            x_out = torch.rand(x_in.shape, generator=gen)
        else:
            x_out = dataset_images(named[name])
        s_out = scores(model, x_out, args.batch_size, device)
        labels = np.r_[np.zeros(len(s_in)), np.ones(len(s_out))]
        results[name] = auroc(np.r_[s_in, s_out], labels)
        print(f'{name}: AUROC {results[name]:.4f} '
              f'({len(s_in)} in, {len(s_out)} out)', flush=True)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=1)


if __name__ == '__main__':
    run_cli(main)
