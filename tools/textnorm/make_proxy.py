"""Write the CPU proxy of the TextNorm fine-tuning demo: a tiny random
diffusers pipeline (``DIR/pipe``) and a tiny random open_clip reward model
(``DIR/clip.bin``), all built locally::

    python tools/textnorm/make_proxy.py work_dirs/textnorm_proxy
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from rgl.utils.cli import run_cli  # noqa: E402

TINY_CLIP = dict(
    embed_dim=16,
    vision_cfg=dict(image_size=32, layers=1, width=32, head_width=16,
                    patch_size=16),
    text_cfg=dict(context_length=77, vocab_size=49408, width=16, heads=2,
                  layers=1))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('out')
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args(argv)
    import open_clip
    import torch

    from rgl.models.distillers.tiny import build_tiny_pipeline
    os.makedirs(args.out, exist_ok=True)
    build_tiny_pipeline(osp.join(args.out, 'pipe'), kind='stable_diffusion',
                        seed=args.seed)
    torch.manual_seed(args.seed)
    torch.save(open_clip.CLIP(**TINY_CLIP).state_dict(),
               osp.join(args.out, 'clip.bin'))
    print(f'tiny pipeline and CLIP reward written to {args.out}')


if __name__ == '__main__':
    run_cli(main)
