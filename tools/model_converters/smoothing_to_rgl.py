"""Convert randomized-smoothing checkpoints of the reference code to rgl.

    python tools/model_converters/smoothing_to_rgl.py \\
        models/cifar10/resnet110/noise_0.25/checkpoint.pth.tar \\
        work_dirs/cohen_resnet110_noise0.25.pth --config \\
        configs/smoothing/gaussian_resnet110_1xb256-150e_cifar10-sigma0.25.py
    python tools/certify.py CONFIG work_dirs/cohen_resnet110_noise0.25.pth \\
        --N0 100 --N 100000 --skip 20 --out cohen_s0.25.tsv

Sources (told apart by their entries):

- locuslab/smoothing (Cohen et al. 2019), alinlab/smoothing-catrs (CAT-RS
  and the baselines it retrains: Gaussian, Stability, SmoothAdv, MACER,
  Consistency, SmoothMix) and Hadisalman/smoothing-adversarial (SmoothAdv):
  ``{'arch', 'state_dict', 'optimizer', 'epoch'}`` of
  ``Sequential(NormalizeLayer, net)``. Keys are ``1.<net key>``;
  ``module.1.`` when saved from DataParallel, and ``1.module.`` for the
  ImageNet ResNet-50 (DataParallel inside the Sequential).
- RuntianZ/macer: ``{'net', 'epoch'}`` of the bare ResNet-110, trained on
  unnormalised [0, 1] inputs.
- a bare state dict of either layout (give ``--dataset``).

The net's ``fc.`` becomes ``head.`` and every other key ``backbone.``: the
reference CIFAR ResNet (bearpaw's layout) and torchvision's ResNet-50 use
the names of rgl's ``CifarResNet`` and mmpretrain's ``ResNet``. The
weights are loaded strictly into the config's classifier; any missing,
unexpected or mis-shaped key is an error.

NormalizeLayer keeps its constants as plain attributes, not in the state
dict: they follow from the dataset, which the ``arch`` entry implies
(``cifar_resnet110`` → CIFAR-10) or ``--dataset`` names. (A fork that stores
them as buffers ``0.means``/``0.sds`` is read directly.) They must equal
the config's ``model.mean``/``model.std``: rgl normalises inside the model,
after the noise, and other constants give other logits with no error (up
to 39 apart on a released ResNet-110), so a mismatch is refused.
"""
import argparse
import os
import os.path as osp
import re
import sys

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from rgl.utils import load_checkpoint_file  # noqa: E402
from rgl.utils.cli import run_cli  # noqa: E402
from rgl.utils.errors import CheckpointError, ConfigError  # noqa: E402

CIFAR10 = ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))
#: the NormalizeLayer of each dataset in the reference repositories
#: (``datasets.get_normalize_layer``); None: no normalisation
NORMALIZATION = {
    'cifar10': CIFAR10,
    'cifar100': ((0.5071, 0.4867, 0.4408), (0.2675, 0.2565, 0.2761)),
    'imagenet': ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    'imagenet32': CIFAR10,  # SmoothAdv's ImageNet-32 reuses CIFAR-10's
    'mnist': None,
    'fmnist': None,
}
#: the dataset each reference ``arch`` was trained on
ARCH_DATASET = {
    'cifar_resnet20': 'cifar10',
    'cifar_resnet110': 'cifar10',
    'cifar100_resnet110': 'cifar100',
    'imagenet32_resnet110': 'imagenet32',
    'resnet50': 'imagenet',
    'lenet': 'mnist',
}


def read_reference(ckpt, path):
    """``(net state dict, normaliser buffers, arch, source)`` of a
    reference checkpoint, with DataParallel prefixes removed."""
    if not isinstance(ckpt, dict):
        raise CheckpointError(f'{path}: not a checkpoint dict')
    arch = ckpt.get('arch')
    if isinstance(ckpt.get('state_dict'), dict):
        state, source = ckpt['state_dict'], 'sequential'
    elif isinstance(ckpt.get('net'), dict):
        state, source = ckpt['net'], 'macer'
    elif ckpt and all(torch.is_tensor(v) for v in ckpt.values()):
        state, source = ckpt, None
    else:
        raise CheckpointError(f'{path}: no `state_dict` or `net` entry (has '
                              f'{sorted(ckpt)[:8]})')
    state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
    if all(re.match(r'[01]\.', k) for k in state):
        source = 'sequential' if source != 'macer' else source
        norm = {k[2:]: v for k, v in state.items() if k.startswith('0.')}
        net = {re.sub(r'^module\.', '', k[2:]): v
               for k, v in state.items() if k.startswith('1.')}
        return net, norm, arch, source
    if source == 'sequential':
        raise CheckpointError(
            f'{path}: `state_dict` is not a Sequential(NormalizeLayer, net) '
            f'(keys {sorted(state)[:4]} do not start with 0. or 1.)')
    return state, None, arch, 'macer' if source else 'bare'


def reference_normalization(path, norm, arch, source, dataset):
    """``(mean, std)`` the reference applied, or None, and how we know."""
    if norm:  # a fork that registered the constants as buffers
        try:
            mean, std = norm['means'], norm['sds']
        except KeyError:
            raise CheckpointError(f'{path}: normaliser entries '
                                  f'{sorted(norm)} are not means/sds')
        return (tuple(mean.flatten().tolist()),
                tuple(std.flatten().tolist())), 'stored in the checkpoint'
    if norm is None:  # a bare net: no NormalizeLayer at all
        return None, f'{source} layout without a NormalizeLayer'
    if dataset is None:
        dataset = ARCH_DATASET.get(arch)
        if dataset is None:
            raise ConfigError(
                f'{path}: cannot tell the NormalizeLayer constants (arch '
                f'{arch!r}); pass --dataset ({"/".join(NORMALIZATION)})')
        how = f'arch {arch} → {dataset}'
    else:
        how = f'--dataset {dataset}'
    return NORMALIZATION[dataset], f'NormalizeLayer of {dataset} ({how})'


def config_normalization(model_cfg):
    mean, std = model_cfg.get('mean'), model_cfg.get('std')
    if mean is None:
        return None
    std = [1.0] * len(mean) if std is None else std
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)


def same_normalization(a, b, tol=1e-6):
    def canon(n):  # mean 0, std 1 is no normalisation
        if n is not None and all(abs(m) <= tol for m in n[0]) and all(
                abs(s - 1) <= tol for s in n[1]):
            return None
        return n

    a, b = canon(a), canon(b)
    if a is None or b is None:
        return a is b
    return all(len(x) == len(y) and all(abs(u - v) <= tol for u, v in
                                        zip(x, y)) for x, y in zip(a, b))


def to_rgl_keys(net):
    """The net's ``fc.*`` is rgl's ``head.*``; the rest its backbone."""
    return {('head.' + k[3:] if k.startswith('fc.') else 'backbone.' + k): v
            for k, v in net.items()}


def build_classifier(cfg):
    from rgl.registry import MODELS
    model_cfg = {k: v for k, v in cfg.model.items()
                 if k not in ('train_loss', 'aligners')}
    return MODELS.build(model_cfg).eval()


def train_loss_state(cfg):
    """State of the config's training objective (e.g. SmoothAdv's warm-up
    counter), so the output also loads strictly into the full model; empty
    when it needs files of its own (a CAT-RS teacher)."""
    from rgl.registry import MODELS
    loss_cfg = cfg.model.get('train_loss')
    if not loss_cfg or 'teacher' in loss_cfg:
        return {}
    loss = MODELS.build(dict(loss_cfg))
    return {'train_loss.' + k: v for k, v in loss.state_dict().items()}


def convert(src, dst, config, dataset=None, cfg_options=None):
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if dataset is not None and dataset not in NORMALIZATION:
        raise ConfigError(f'--dataset {dataset!r}: expected one of '
                          f'{sorted(NORMALIZATION)}')
    net, norm, arch, source = read_reference(load_checkpoint_file(src), src)
    expected, how = reference_normalization(src, norm, arch, source,
                                            dataset)
    have = config_normalization(cfg.model)
    if not same_normalization(expected, have):
        def show(n):
            return 'none' if n is None else f'mean={list(n[0])} ' \
                f'std={list(n[1])}'
        raise ConfigError(
            f'{src} was trained with normalisation {show(expected)} ({how}) '
            f'but {config} has {show(have)}: logits and radii would be '
            f'wrong. Use a config with the reference\'s constants, or set '
            f'them with --cfg-options model.mean=... model.std=...')
    model = build_classifier(cfg)
    state = to_rgl_keys(net)
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shape mismatch
        lines = [ln.strip() for ln in str(err).splitlines()
                 if 'size mismatch' in ln] or [str(err)]
        raise CheckpointError(f'{src} does not fit the model of {config}: '
                              f'{lines[0]}') from None
    if result.missing_keys or result.unexpected_keys:
        raise CheckpointError(
            f'{src} does not fit the model of {config}: missing '
            f'{result.missing_keys[:5]}, unexpected '
            f'{result.unexpected_keys[:5]}')
    out = dict(model.state_dict())
    out.update(train_loss_state(cfg))
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    torch.save(dict(meta=dict(converted_from=osp.basename(src),
                              source=source, arch=arch,
                              normalization=expected, config=config),
                    state_dict=out), dst)
    return model


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('src', help='reference checkpoint (checkpoint.pth.tar)')
    p.add_argument('dst', help='rgl checkpoint to write')
    p.add_argument('--config', required=True,
                   help='the rgl config whose model receives the weights')
    p.add_argument('--dataset', choices=sorted(NORMALIZATION),
                   help='dataset of the NormalizeLayer (default: implied by '
                   'the checkpoint\'s `arch`)')
    from mmengine.config import DictAction
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    model = convert(args.src, args.dst, args.config, args.dataset,
                    args.cfg_options)
    n = sum(p.numel() for p in model.parameters())
    print(f'{args.dst}: {n / 1e6:.2f}M parameters from {args.src}')


if __name__ == '__main__':
    run_cli(main)
