"""Convert official DiT, SiT and REPA checkpoints to rgl.

    python tools/model_converters/dit_sit_repa_to_rgl.py last.pt \
        work_dirs/repa_sit_xl2_4M.pth                # REPA (ema weights)
    python tools/model_converters/dit_sit_repa_to_rgl.py \
        SiT-XL-2-256x256.pt sit_xl2.pth
    python tools/model_converters/dit_sit_repa_to_rgl.py \
        DiT-XL-2-256x256.pt dit_xl2.pth

Sources (detected from the keys, or ``--source``):

- ``repa``: sihyun-yu/REPA training checkpoints {model, ema, opt, args,
  steps} and the released ``last.pt`` (a bare EMA state dict); the projector
  MLPs ``projectors.k.*`` go to rgl's aligner (``aligners.0.projectors.k.*``).
  The alignment depth is read from ``args`` (a Namespace, or a dict in
  re-saved checkpoints), ``--args-json`` (the run's ``args.json``), the
  ``--legacy`` layout's block split, or, for the released SiT-XL/2
  ``last.pt``, the README's 8; otherwise ``--encoder-depth`` is required.
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
from rgl.utils.errors import CheckpointError, ConfigError  # noqa: E402

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
    depth = block_count(state)
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
    # REPA's build_mlp: projectors.k.{0,2,4} are the three Linear layers
    dims = [
        state[f'projectors.{k}.4.weight'].shape[0]
        for k in range(projector_count(state))
    ]
    if dims:
        proj_dim = state['projectors.0.0.weight'].shape[0]
        model['aligners'] = [
            dict(type='REPAAligner', encoders=[], encoder_dims=dims,
                 depth=None, projector_dim=proj_dim)  # set by convert()
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


def training_args(raw, args_json=None):
    """REPA's training arguments as a dict: the checkpoint's ``args`` (an
    ``argparse.Namespace`` in train.py's checkpoints, a dict in re-saved
    ones) or the run's ``args.json`` (``--args-json``); ``{}`` when
    neither exists."""
    found = {}
    stored = raw.get('args') if isinstance(raw, dict) else None
    if isinstance(stored, argparse.Namespace):
        found = vars(stored)
    elif isinstance(stored, dict):
        found = stored
    elif stored is not None:
        raise CheckpointError(f'the checkpoint\'s `args` is a '
                              f'{type(stored).__name__}, not a Namespace '
                              'or dict')
    if args_json is not None:
        from rgl.utils.json_io import read_json_object
        from_json = read_json_object(
            args_json, '--args-json',
            'not a JSON object (REPA writes vars(args) there)',
            error=ConfigError)
        clash = {k for k in ('encoder_depth', 'model')
                 if k in found and k in from_json and found[k] !=
                 from_json[k]}
        if clash:
            raise ConfigError(
                f'--args-json {args_json} disagrees with the checkpoint\'s '
                f'args on {sorted(clash)}: '
                f'{[from_json[k] for k in sorted(clash)]} vs '
                f'{[found[k] for k in sorted(clash)]}')
        found = {**from_json, **found}
    return found


def is_repa_release(state):
    """The released 4M-iteration ``last.pt`` of sihyun-yu/REPA: a bare EMA
    state dict of SiT-XL/2 (28 blocks, width 1152, 1,000 classes, 32 x 32
    latents) with one projector onto DINOv2-B's 768 dims. REPA's README
    evaluates it with ``--encoder-depth 8``."""
    try:
        return (state['x_embedder.proj.weight'].shape[:2] == (1152, 4)
                and state['pos_embed'].shape[1] == 256
                and state['y_embedder.embedding_table.weight'].shape[0] ==
                1001 and projector_count(state) == 1
                and state['projectors.0.4.weight'].shape[0] == 768
                and block_count(state) == 28)
    except KeyError:
        return False


def block_count(state, name='blocks'):
    return len({
        int(m.group(1))
        for k in state for m in [re.match(name + r'\.(\d+)\.', k)] if m
    })


def projector_count(state):
    return len({
        m.group(1)
        for k in state for m in [re.match(r'projectors\.(\d+)\.', k)] if m
    })


def from_legacy(state):
    """REPA's ``--legacy`` layout keeps the first ``encoder_depth`` blocks
    in ``blocks`` and the rest in ``decoder_blocks`` (its
    ``load_legacy_checkpoints``): the alignment depth is the number of
    ``blocks``, and the decoder blocks follow them. Returns ``(state,
    depth)``; depth is None for the current layout."""
    if not any(k.startswith('decoder_blocks.') for k in state):
        return state, None
    depth = block_count(state)
    out = {}
    for k, v in state.items():
        m = re.match(r'decoder_blocks\.(\d+)\.(.*)', k)
        out[f'blocks.{int(m.group(1)) + depth}.{m.group(2)}' if m else k] = v
    return out, depth


def alignment_depth(raw, state, path, depth=None, args_json=None,
                    legacy_depth=None):
    """REPA's ``encoder_depth``: from the training args, the legacy block
    split, or the known release; ``--encoder-depth`` where none of them
    says. It is never guessed: 4 (SiT-B/2) and 8 (L/2, XL/2) are both
    common, and a wrong depth converts without an error but aligns (and
    fine-tunes) the wrong block."""
    known = {}
    args = training_args(raw, args_json)
    if args.get('encoder_depth') is not None:
        known['args.encoder_depth'] = int(args['encoder_depth'])
    if legacy_depth is not None:
        known['the legacy blocks/decoder_blocks split'] = legacy_depth
    if not known and is_repa_release(state):
        known['the released SiT-XL/2 last.pt'] = 8
    if depth is not None:
        clash = {k: v for k, v in known.items() if v != depth}
        if clash:
            raise ConfigError(f'--encoder-depth {depth} contradicts {path}: '
                              f'{clash}')
        return int(depth)
    if len(set(known.values())) > 1:
        raise CheckpointError(f'{path}: the alignment depth is ambiguous '
                              f'({known}); pass --encoder-depth')
    if not known:
        raise ConfigError(
            f'{path}: cannot read REPA\'s alignment depth (no `args` in the '
            f'checkpoint, no --args-json, not the released SiT-XL/2 '
            f'last.pt): pass --encoder-depth (REPA uses 4 for SiT-B/2 and 8 '
            f'for SiT-L/2 and XL/2) or --args-json RUN/args.json')
    return next(iter(known.values()))


def convert(path, source=None, which='ema', depth=None, args_json=None):
    """Return ``(rgl checkpoint dict, rgl model)``."""
    raw = load_official(path)
    state = pick_weights(raw, path, which)
    state, legacy_depth = from_legacy(state)
    source = source or detect_source(state)
    model_cfg = infer_model(state, source, path)
    if model_cfg.get('aligners'):
        depth = alignment_depth(raw, state, path, depth, args_json,
                                legacy_depth)
        blocks = model_cfg['backbone']['arch']['depth']
        if not 1 <= depth <= blocks:
            raise ConfigError(f'{path}: encoder depth {depth} is outside the '
                              f'model\'s 1..{blocks} blocks')
        model_cfg['aligners'][0]['depth'] = depth
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
                   help='REPA alignment depth (1-indexed block); required '
                   'when the checkpoint has no `args` and no --args-json '
                   '(REPA: 4 for SiT-B/2, 8 for L/2 and XL/2)')
    p.add_argument('--args-json',
                   help='the training run\'s args.json (REPA writes it next '
                   'to checkpoints/), for encoder_depth')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    ckpt, _ = convert(args.src, args.source, args.weights, args.encoder_depth,
                      args.args_json)
    torch.save(ckpt, args.dst)
    print(f'wrote {args.dst} ({ckpt["meta"]["source"]}, '
          f'{len(ckpt["state_dict"])} tensors); rgl model: '
          f'{ckpt["meta"]["model"]}')


if __name__ == '__main__':
    run_cli(main)
