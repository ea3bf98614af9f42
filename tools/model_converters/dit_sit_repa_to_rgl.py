"""Convert official DiT, SiT and REPA checkpoints to rgl.

    python tools/model_converters/dit_sit_repa_to_rgl.py last.pt \
        work_dirs/repa_sit_xl2_4M.pth                # REPA (ema weights)
    python tools/model_converters/dit_sit_repa_to_rgl.py \
        SiT-XL-2-256x256.pt sit_xl2.pth
    python tools/model_converters/dit_sit_repa_to_rgl.py \
        DiT-XL-2-256x256.pt dit_xl2.pth

Sources (detected from the keys, or ``--source``):

- ``repa``: sihyun-yu/REPA ``last.pt`` = {model, ema, opt, args, steps};
  the projector MLPs ``projectors.k.*`` go to rgl's aligner
  (``aligners.0.projectors.k.*``).
- ``sit``: willisma/SiT ``SiT-XL-2-256x256.pt`` (a state dict, or {ema, ...})
  with learn_sigma's 2C output and t = 1 at the data.
- ``dit``: facebookresearch/DiT ``DiT-XL-2-256x256.pt`` (the EMA state dict).

The backbone layouts match rgl's names, so the conversion is a prefix
(``backbone.``), the architecture read from the tensor shapes, and a strict
load into the rgl model: any missing, unexpected or mis-shaped key is an
error. The output holds ``state_dict`` and ``meta.model`` (the rgl model
config to put in a config file).
"""
import argparse
import os.path as osp
import re
import sys

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from rgl.utils import load_checkpoint_file  # noqa: E402
from rgl.utils.cli import run_cli  # noqa: E402
from rgl.utils.errors import CheckpointError  # noqa: E402

#: width -> heads of the DiT/SiT size table (heads are not in the shapes)
HEADS = {384: 6, 768: 12, 1024: 16, 1152: 16}


def load_official(path):
    """torch.load(weights_only=True) that also accepts REPA's and SiT's
    ``args`` entry, an ``argparse.Namespace`` (attributes only)."""
    with torch.serialization.safe_globals([argparse.Namespace]):
        return load_checkpoint_file(path)


def pick_weights(ckpt, path, which='ema'):
    if not isinstance(ckpt, dict):
        raise CheckpointError(f'{path}: not a state dict or checkpoint dict')
    if which in ckpt and isinstance(ckpt[which], dict):
        state = ckpt[which]
    elif all(torch.is_tensor(v) for v in ckpt.values()):
        state = ckpt  # a bare state dict (the DiT/SiT releases)
    else:
        raise CheckpointError(f'{path}: has no `{which}` entry (has '
                              f'{sorted(ckpt)[:8]})')
    return {re.sub(r'^module\.', '', k): v for k, v in state.items()}


def detect_source(state):
    if any(k.startswith('projectors.') for k in state):
        return 'repa'
    out = state['final_layer.linear.weight'].shape[0]
    p = state['x_embedder.proj.weight'].shape[-1]
    c = state['x_embedder.proj.weight'].shape[1]
    # SiT and DiT releases share the layout; both learn sigma (2C output).
    # Without projectors it cannot be told apart: default to DiT.
    return 'dit' if out == 2 * c * p * p else 'repa'


def infer_model(state, source, path):
    """The rgl model config that these weights fit."""
    try:
        w = state['x_embedder.proj.weight']
        hidden, in_ch, p = w.shape[0], w.shape[1], w.shape[-1]
        num_patches = state['pos_embed'].shape[1]
        rows = state['y_embedder.embedding_table.weight'].shape[0]
        out = state['final_layer.linear.weight'].shape[0] // (p * p)
    except KeyError as err:
        raise CheckpointError(f'{path}: not a DiT/SiT/REPA checkpoint '
                              f'(no {err})') from None
    depth = len({
        int(m.group(1))
        for k in state for m in [re.match(r'blocks\.(\d+)\.', k)] if m
    })
    if hidden not in HEADS:
        raise CheckpointError(f'{path}: width {hidden} is not a DiT/SiT '
                              f'size ({sorted(HEADS)})')
    grid = int(round(num_patches**0.5))
    backbone = dict(
        type='DiT' if source == 'dit' else 'SiT',
        arch=dict(depth=depth, hidden_size=hidden, num_heads=HEADS[hidden],
                  patch_size=p),
        input_size=grid * p, in_channels=in_ch, num_classes=rows - 1,
        learn_sigma=out == 2 * in_ch,
        qk_norm=any('.q_norm.' in k for k in state))
    if source == 'dit':
        return dict(type='DDPM', backbone=backbone)
    model = dict(type='FlowMatching', backbone=backbone, path='linear',
                 data_at_one=source == 'sit')
    dims = [
        state[f'projectors.{k}.4.weight'].shape[0]
        for k in range(len({
            m.group(1)
            for key in state for m in [re.match(r'projectors\.(\d+)\.', key)]
            if m
        }))
    ]
    if dims:
        proj_dim = state['projectors.0.0.weight'].shape[0]
        model['aligners'] = [
            dict(type='REPAAligner', encoders=[], encoder_dims=dims,
                 depth=8, projector_dim=proj_dim)
        ]
    return model


def to_rgl(state):
    """Official names → rgl algorithm names."""
    out = {}
    for k, v in state.items():
        if k.startswith('projectors.'):
            out['aligners.0.' + k] = v
        else:
            out['backbone.' + k] = v
    return out


def verify(model_cfg, rgl_state, path):
    """Build the rgl model and load strictly: every key must be used and
    present with its shape."""
    import rgl.models  # noqa: F401
    from rgl.registry import MODELS
    model = MODELS.build(model_cfg)
    own = model.state_dict()
    missing = sorted(set(own) - set(rgl_state))
    unexpected = sorted(set(rgl_state) - set(own))
    shapes = [k for k in own if k in rgl_state
              and own[k].shape != rgl_state[k].shape]
    if missing or unexpected or shapes:
        raise CheckpointError(
            f'{path}: conversion does not match the rgl model: missing '
            f'{missing[:5]}, unexpected {unexpected[:5]}, shape {shapes[:5]}')
    model.load_state_dict(rgl_state, strict=True)
    return model


def convert(path, source=None, which='ema', depth=None):
    """Return ``(rgl checkpoint dict, rgl model)``."""
    raw = load_official(path)
    state = pick_weights(raw, path, which)
    source = source or detect_source(state)
    model_cfg = infer_model(state, source, path)
    if model_cfg.get('aligners'):
        # REPA's training args record the alignment depth (default 8)
        depth = depth or getattr(raw.get('args'), 'encoder_depth', None) or 8
        model_cfg['aligners'][0]['depth'] = int(depth)
    rgl_state = to_rgl(state)
    model = verify(model_cfg, rgl_state, path)
    ckpt = dict(state_dict=rgl_state,
                meta=dict(converted_from=osp.basename(path), source=source,
                          weights=which, model=model_cfg))
    return ckpt, model


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('src', help='official checkpoint')
    p.add_argument('dst', help='rgl checkpoint to write')
    p.add_argument('--source', choices=['repa', 'sit', 'dit'],
                   help='checkpoint family (default: detect; a SiT release '
                   'needs --source sit)')
    p.add_argument('--weights', default='ema', choices=['ema', 'model'],
                   help='which weights of a training checkpoint')
    p.add_argument('--encoder-depth', type=int,
                   help='REPA alignment depth (default: the checkpoint\'s '
                   'args.encoder_depth, else 8)')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    ckpt, _ = convert(args.src, args.source, args.weights, args.encoder_depth)
    torch.save(ckpt, args.dst)
    print(f'wrote {args.dst} ({ckpt["meta"]["source"]}, '
          f'{len(ckpt["state_dict"])} tensors); rgl model: '
          f'{ckpt["meta"]["model"]}')


if __name__ == '__main__':
    run_cli(main)
