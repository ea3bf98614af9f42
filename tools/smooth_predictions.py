"""Precompute smoothed predictions p̂(x) of a classifier over a dataset split.

CAT-RS takes each training sample's confidence from the smoothed prediction
of a Gaussian-trained model (the reference computes it with N = 10,000 draws
at σ = 0.25). The output ``.npy`` holds vote frequencies of shape (N, K) in
dataset order; feed it to training with ``SmoothedPredictionDataset`` and
``model.loss_fields=('smoothed_pred',)``.

    python tools/smooth_predictions.py CONFIG CHECKPOINT --sigma 0.25 \
        --n 10000 --split train --out work_dirs/train_pred_sigma0.25.npy
"""
import argparse
import os.path as osp

import numpy as np
import torch
from mmengine.config import DictAction

import rgl  # noqa: F401  (weights_only-safe checkpoint loading)
from rgl.utils.cli import run_cli
from rgl.utils.config import load_config
from rgl.utils.errors import CheckpointError, ConfigError, require_keys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', help='weights of the classifier')
    parser.add_argument('--sigma', type=float, required=True, help='σ')
    parser.add_argument('--n', '--N', type=int, default=10_000,
                        help='noise draws per image (10,000)')
    parser.add_argument('--batch', type=int, default=1000,
                        help='noisy copies per forward pass')
    parser.add_argument('--split', default='train')
    parser.add_argument('--seed', type=int, default=0,
                        help='image i draws its noise from a stream seeded '
                        'by (seed, i)')
    parser.add_argument('--out', required=True, help='output .npy')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    require_keys(cfg, ['model', 'train_dataloader.dataset'],
                 where=args.config)
    if not osp.isfile(args.checkpoint):
        raise CheckpointError(f'checkpoint file not found: {args.checkpoint}')
    if not args.out.endswith('.npy'):
        raise ConfigError(f'--out must be a .npy file, got {args.out}')

    from tqdm import tqdm

    from rgl.registry import DATASETS, MODELS
    ds_cfg = dict(cfg.train_dataloader.dataset)
    if ds_cfg.get('type') == 'SmoothedPredictionDataset':
        ds_cfg = dict(ds_cfg['dataset'])
    ds_cfg['split'] = args.split
    ds_cfg.pop('transforms', None)  # predictions of the plain images
    dataset = DATASETS.build(ds_cfg)
    model_cfg = {
        k: v
        for k, v in cfg.model.items() if k not in ('train_loss', 'aligners')
    }
    smooth = MODELS.build(
        dict(type='SmoothedClassifier', classifier=model_cfg,
             sigma=args.sigma, checkpoint=args.checkpoint))
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    smooth.to(device).eval()
    per_step = max(1, args.batch // max(1, args.n // 8))
    preds = np.zeros((len(dataset), smooth.num_classes), dtype=np.float32)
    for start in tqdm(range(0, len(dataset), per_step), unit='batch',
                      desc=f'smoothed predictions σ={args.sigma}'):
        idxs = range(start, min(start + per_step, len(dataset)))
        x = torch.stack([dataset[i]['inputs'] for i in idxs])
        # image i draws from its own stream seeded by (seed, i): its votes
        # do not depend on --batch (they are PREDICT's votes of image i)
        counts = smooth.sample_counts(x, args.n, args.batch,
                                      seeds=[(args.seed, i) for i in idxs],
                                      stream='predict')
        preds[start:start + len(idxs)] = (counts.float() /
                                          args.n).cpu().numpy()
    np.save(args.out, preds)
    acc = (preds.argmax(1) == np.array(
        [int(dataset[i]['data_samples'].gt_label) for i in range(len(dataset))
         ])).mean()
    print(f'{args.out}: {preds.shape[0]} images, smoothed top-1 '
          f'{100 * acc:.1f}% at σ={args.sigma}')


if __name__ == '__main__':
    run_cli(main)
