"""Reliability of a classifier: clean accuracy, novelty detection AUROC and
accuracy under common corruptions (the NIB paper's measures; the third,
certified robustness, is tools/certify.py on the same config).

    python tools/nib/evaluate_reliability.py CONFIG CHECKPOINT \
        [--out result.json] [--corruptions gaussian_noise contrast ...] \
        [--severities 1 2 3 4 5] [--seed 0] [--batch-size 256] \
        [--device cpu] [--cfg-options k=v ...]

The config's ``reliability`` dict names two datasets: ``known`` (test
images of the training classes) and ``novel`` (test images of held-out
classes). Novelty score: ``1 - max_c softmax(f(x))_c`` (maximum softmax
probability, MSP), novel images positive; the AUROC is rgl's
(``rgl.evaluation.metrics.anomaly.auroc``). Corruptions come from
``rgl.datasets.corruptions``; image ``i`` draws its noise from the seed
``(seed, corruption, severity, i)``, so results do not depend on the batch
size. Works for any rgl classifier with ``logits(x)`` (``ImageClassifier``,
``NuisanceIBClassifier``).
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from rgl.utils.cli import run_cli  # noqa: E402
from rgl.utils.errors import CheckpointError, ConfigError  # noqa: E402


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='a config with a `reliability` dict')
    p.add_argument('checkpoint', help='weights of the classifier')
    p.add_argument('--out', help='write the result as JSON here')
    p.add_argument('--corruptions', nargs='*',
                   help='override reliability.corruptions (none: skip)')
    p.add_argument('--severities', nargs='+', type=int,
                   help='override reliability.severities')
    p.add_argument('--seed', type=int, help='override reliability.seed')
    p.add_argument('--batch-size', type=int)
    p.add_argument('--device', default=None)
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(argv)


def build_classifier(cfg, checkpoint, device):
    from mmengine.registry import DefaultScope

    import rgl.models.ib  # noqa: F401  (NIB parts; rgl.datasets registers
    # HeldOutClassDataset)
    from rgl.registry import MODELS
    from rgl.utils.checkpoint import load_model_weights
    model_cfg = {k: v for k, v in cfg.model.items() if k != 'train_loss'}
    with DefaultScope.overwrite_default_scope('rgl'):
        model = MODELS.build(model_cfg)
    if not hasattr(model, 'logits'):
        raise ConfigError(f'model.type={cfg.model.type} has no logits(x); '
                          'the reliability measures need a classifier')
    load_model_weights(model, checkpoint)
    return model.to(device).eval()


def load_images(ds_cfg, what):
    import torch
    from mmengine.registry import DefaultScope

    from rgl.registry import DATASETS
    with DefaultScope.overwrite_default_scope('rgl'):
        dataset = DATASETS.build(ds_cfg)
    if len(dataset) == 0:
        raise ConfigError(f'reliability.{what} is empty')
    items = [dataset[i] for i in range(len(dataset))]
    x = torch.stack([it['inputs'] for it in items])
    y = torch.tensor([int(it['data_samples'].gt_label.item())
                      for it in items])
    return x, y


def predict(model, x, batch_size, device, transform=None):
    """Softmax scores ``(N, K)``; ``transform(batch, first_index)`` runs on
    the [0, 1] images before the model."""
    import torch
    out = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            batch = x[start:start + batch_size]
            if transform is not None:
                batch = transform(batch, start)
            out.append(model.logits(batch.to(device)).float().softmax(1)
                       .cpu())
    return torch.cat(out)


def main(argv=None):
    import torch
    from tqdm import tqdm

    from rgl.datasets.corruptions import CORRUPTIONS, check_corruption
    from rgl.datasets.corruptions import corrupt
    from rgl.evaluation.metrics.anomaly import auroc
    from rgl.utils.config import load_config
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    rel = cfg.get('reliability')
    if not rel or 'known' not in rel:
        raise ConfigError(f'{args.config} has no reliability.known dataset '
                          '(see configs/nib/_base_/digits_holdout9.py)')
    if not osp.isfile(args.checkpoint):
        raise CheckpointError(f'checkpoint file not found: {args.checkpoint}')
    names = (args.corruptions if args.corruptions is not None else
             rel.get('corruptions', list(CORRUPTIONS)))
    severities = args.severities or rel.get('severities', [1, 2, 3, 4, 5])
    for name in names:
        for s in severities:
            check_corruption(name, s)
    seed = rel.get('seed', 0) if args.seed is None else args.seed
    # frost photographs (None: rgl's procedural texture, docs/methods/nib.md)
    texture_dir = rel.get('frost_texture_dir')
    batch_size = args.batch_size or rel.get('batch_size', 256)
    device = torch.device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))

    model = build_classifier(cfg, args.checkpoint, device)
    x, y = load_images(rel['known'], 'known')
    scores = predict(model, x, batch_size, device)
    result = dict(config=args.config, checkpoint=args.checkpoint,
                  num_known=len(y),
                  clean_accuracy=100 * (scores.argmax(1) == y)
                  .float().mean().item())
    if rel.get('novel'):
        x_novel, _ = load_images(rel['novel'], 'novel')
        novel_scores = predict(model, x_novel, batch_size, device)
        msp = torch.cat([scores.amax(1), novel_scores.amax(1)])
        is_novel = torch.cat([torch.zeros(len(y)), torch.ones(len(x_novel))])
        result.update(num_novel=len(x_novel),
                      novelty_auroc=100 * auroc((1 - msp).numpy(),
                                                is_novel.numpy()))
    table = {}
    for name in tqdm(names, desc='corruptions', unit='kind'):
        table[name] = {}
        k = list(CORRUPTIONS).index(name)  # stable, whatever the list
        for s in severities:
            # image i of this (corruption, severity) draws from its own seed
            def transform(batch, start, k=k, s=s, name=name):
                seeds = [(seed, k, s, start + i) for i in range(len(batch))]
                return corrupt(batch, name, s, seeds=seeds,
                               texture_dir=texture_dir)

            pred = predict(model, x, batch_size, device, transform)
            table[name][s] = 100 * (pred.argmax(1) == y).float().mean().item()
    if table:
        accs = [a for row in table.values() for a in row.values()]
        result.update(
            corruption_accuracy=table,
            mean_corruption_accuracy=sum(accs) / len(accs),
            corruption_accuracy_by_severity={
                s: sum(table[n][s] for n in names) / len(names)
                for s in severities})
    line = f'clean accuracy {result["clean_accuracy"]:.2f} %'
    if 'novelty_auroc' in result:
        line += f', novelty AUROC (MSP) {result["novelty_auroc"]:.2f} %'
    if table:
        line += (f', mean corruption accuracy '
                 f'{result["mean_corruption_accuracy"]:.2f} % '
                 f'({len(names)} corruptions x {len(severities)} severities)')
    print(line)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    run_cli(main)
