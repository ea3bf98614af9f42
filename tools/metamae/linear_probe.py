"""Linear evaluation of a pre-trained MetaMAE/MAE encoder.

    python tools/metamae/linear_probe.py CONFIG [CHECKPOINT] \
        [--probe adam|logreg] [--epochs N] [--batch-size B] [--seed S] \
        [--out result.json] [--device cpu] [--cfg-options k=v ...]

The encoder is frozen; each input of the config's ``probe.train`` and
``probe.test`` datasets becomes the global average of its token features
(the whole input, no masking). Two probes:

- ``adam`` (the paper's linear evaluation): a linear layer trained with
  cross-entropy by Adam (``probe.lr`` 1e-4, ``probe.weight_decay`` 1e-4)
  for ``probe.epochs`` (100) epochs of ``probe.batch_size``, dropping the
  last partial batch as the official script; the test accuracy after the
  last epoch is reported.
  ``--standardize`` first standardises the features with the train
  statistics (not in the paper; needed where pooled features vary little
  between inputs, as the tiny digits models').
- ``logreg``: scikit-learn's L2 logistic regression on standardised
  features (deterministic, converged: the quick check of the digits
  configs).

Without CHECKPOINT the encoder keeps its random initialisation (the
"random features" reference). The result is printed and, with ``--out``,
written as JSON.
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from rgl.utils.cli import run_cli  # noqa: E402
from rgl.utils.errors import ConfigError  # noqa: E402


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='a configs/metamae/ config with `probe`')
    p.add_argument('checkpoint', nargs='?',
                   help='pre-trained weights (mmengine checkpoint or state '
                   'dict); omit for a randomly initialised encoder')
    p.add_argument('--probe', choices=['adam', 'logreg'], default='adam')
    p.add_argument('--epochs', type=int, help='override probe.epochs')
    p.add_argument('--batch-size', type=int,
                   help='override probe.batch_size')
    p.add_argument('--standardize', action='store_true',
                   help='adam probe: standardise features with the train '
                   'statistics first (the paper does not)')
    p.add_argument('--seed', type=int, default=0,
                   help='seed of the probe initialisation and shuffling')
    p.add_argument('--out', help='write the result as JSON here')
    p.add_argument('--device', default=None)
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(argv)


def build_model(cfg, checkpoint, device):
    from mmengine.registry import DefaultScope

    from rgl.registry import MODELS
    from rgl.utils.checkpoint import check_state_dict, load_state_dict_file
    with DefaultScope.overwrite_default_scope('rgl'):
        model = MODELS.build(cfg.model)
    if checkpoint is not None:
        state = load_state_dict_file(checkpoint)
        if model.projector is None:  # training-only head of MetaMAE
            state = {k: v for k, v in state.items()
                     if not k.startswith('projector.')}
        check_state_dict(model, state, checkpoint)  # one line on mismatch
        model.load_state_dict(state, strict=False)  # checked above
    return model.to(device).eval()


def extract(model, dataset_cfg, batch_size, device, what):
    """Pooled features ``(M, D)`` and labels ``(M,)`` of a dataset."""
    import torch
    from mmengine.dataset import pseudo_collate
    from torch.utils.data import DataLoader
    from tqdm import tqdm

    from rgl.registry import DATASETS
    dataset = DATASETS.build(dataset_cfg)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False,
                        collate_fn=pseudo_collate)
    feats, labels = [], []
    with torch.no_grad():
        for batch in tqdm(loader, desc=f'features ({what})',
                          disable=not sys.stderr.isatty()):
            data = model.data_preprocessor(batch)
            feats.append(model.extract_feat(data['inputs']).float().cpu())
            labels.append(torch.cat([s.gt_label for s in
                                     data['data_samples']]).cpu())
    return torch.cat(feats), torch.cat(labels)


def adam_probe(train, test, num_classes, epochs, batch_size, lr,
               weight_decay, seed):
    """The paper's probe: Linear + CE, Adam, ``epochs`` epochs."""
    import torch
    import torch.nn.functional as F
    (x_tr, y_tr), (x_te, y_te) = train, test
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    head = torch.nn.Linear(x_tr.shape[1], num_classes)
    opt = torch.optim.Adam(head.parameters(), lr=lr,
                           weight_decay=weight_decay)
    steps = max(len(x_tr) // batch_size, 1)
    for _ in range(epochs):
        order = torch.randperm(len(x_tr), generator=gen)
        for i in range(steps):
            idx = order[i * batch_size:(i + 1) * batch_size]
            loss = F.cross_entropy(head(x_tr[idx]), y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        return (head(x_te).argmax(1) == y_te).float().mean().item() * 100


def logreg_probe(train, test, seed):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    (x_tr, y_tr), (x_te, y_te) = train, test
    scaler = StandardScaler().fit(x_tr.numpy())
    clf = LogisticRegression(max_iter=5000, random_state=seed)
    clf.fit(scaler.transform(x_tr.numpy()), y_tr.numpy())
    return clf.score(scaler.transform(x_te.numpy()), y_te.numpy()) * 100


def main(argv=None):
    import torch
    from mmengine.config import Config

    from rgl.utils.errors import require_keys
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise ConfigError(f'no config file {args.config}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    require_keys(cfg, ['model', 'probe.train', 'probe.test'],
                 where=args.config)
    probe = cfg.probe
    epochs = args.epochs or probe.get('epochs', 100)
    batch_size = args.batch_size or probe.get('batch_size', 256)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if args.checkpoint is None:
        print('no checkpoint: probing the randomly initialised encoder')
    torch.manual_seed(args.seed)  # the random initialisation, if any
    model = build_model(cfg, args.checkpoint, device)
    train = extract(model, probe.train, batch_size, device, 'train')
    test = extract(model, probe.test, batch_size, device, 'test')
    num_classes = int(max(train[1].max(), test[1].max())) + 1
    if args.probe == 'adam' and args.standardize:
        mean, std = train[0].mean(0), train[0].std(0).clamp(min=1e-8)
        train = ((train[0] - mean) / std, train[1])
        test = ((test[0] - mean) / std, test[1])
    if args.probe == 'adam':
        acc = adam_probe(train, test, num_classes, epochs, batch_size,
                         probe.get('lr', 1e-4),
                         probe.get('weight_decay', 1e-4), args.seed)
    else:
        acc = logreg_probe(train, test, args.seed)
    result = dict(config=args.config, checkpoint=args.checkpoint,
                  probe=args.probe, accuracy=acc,
                  feature_dim=train[0].shape[1],
                  num_train=len(train[1]), num_test=len(test[1]),
                  epochs=epochs if args.probe == 'adam' else None,
                  standardize=args.standardize, seed=args.seed)
    print(f'linear probe ({args.probe}) top-1: {acc:.2f} % '
          f'({len(train[1])} train / {len(test[1])} test)')
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    run_cli(main)
