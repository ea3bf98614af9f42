"""Export the weights of a training checkpoint as a plain state dict.

    python tools/export_state_dict.py CKPT OUT [--prefix backbone.] [--half]

Keeps the entries of ``state_dict`` under ``--prefix`` (prefix removed) and
saves them with ``torch.save`` so they load with ``weights_only=True``
(optimizer state, message hub and RNG state are dropped). rgl uses it to
ship the digits MAE encoder (assets/encoders/).
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from rgl.utils.cli import run_cli  # noqa: E402
from rgl.utils.errors import CheckpointError  # noqa: E402


def main(argv=None):
    import torch

    from rgl.utils import load_state_dict_file
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('checkpoint')
    p.add_argument('out')
    p.add_argument('--prefix', default='',
                   help="keep only keys under this prefix, e.g. 'backbone.'")
    p.add_argument('--half', action='store_true', help='store float16')
    args = p.parse_args(argv)
    sd = load_state_dict_file(args.checkpoint)
    out = {
        k[len(args.prefix):]: v.detach().clone()
        for k, v in sd.items() if k.startswith(args.prefix)
    }
    if not out:
        raise CheckpointError(f'{args.checkpoint}: no key starts with '
                              f'--prefix {args.prefix!r} (e.g. '
                              f'{sorted(sd)[:3]})')
    if args.half:
        out = {k: v.half() if v.is_floating_point() else v
               for k, v in out.items()}
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    torch.save(out, args.out)
    size = osp.getsize(args.out) / 2**20
    print(f'saved {len(out)} tensors ({size:.2f} MiB) to {args.out}')


if __name__ == '__main__':
    run_cli(main)
