"""Evaluate a CSD edit with CLIP (open_clip weights from a local file).

    python tools/csd/evaluate.py RUN_DIR --clip-model ViT-B-32 \
        --clip-checkpoint weights/open_clip_vit_b32.bin [--out metrics.json]

``RUN_DIR`` is an output folder of tools/csd/edit.py (``source/`` and
``edited/`` images; the prompts come from its ``run_identity.json`` unless
``--tgt-prompt``/``--src-prompt`` are given). Prints and writes JSON with

- ``clip_directional``: mean cos(E_I(edit) − E_I(src), E_T(tgt) − E_T(src));
- ``consistency_edited`` / ``consistency_source``: mean CLIP cosine of
  neighbouring particles (images or frames), null for a single image.
"""
import argparse
import glob
import json
import os.path as osp

import torch

from rgl.utils.cli import run_cli
from rgl.utils.errors import ConfigError, DataError


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='CLIP metrics of a CSD edit')
    p.add_argument('run_dir')
    p.add_argument('--clip-model', default='ViT-B-32',
                   help='open_clip architecture name')
    p.add_argument('--clip-checkpoint', required=True,
                   help='local open_clip weights (.bin/.pt/.safetensors)')
    p.add_argument('--clip-cfg', help='JSON file with an open_clip model '
                   'config replacing --clip-model\'s (custom/tiny towers)')
    p.add_argument('--tgt-prompt')
    p.add_argument('--src-prompt')
    p.add_argument('--out', help='default: RUN_DIR/metrics.json')
    p.add_argument('--device', default='cpu')
    return p.parse_args(argv)


def run_prompts(run_dir):
    side = osp.join(run_dir, 'run_identity.json')
    if not osp.isfile(side):
        return {}
    with open(side) as f:
        info = json.load(f).get('run', {})
    return info.get('prompts', {})


def load_folder(folder):
    from PIL import Image
    import numpy as np
    files = sorted(glob.glob(osp.join(folder, '*.png')))
    if not files:
        raise DataError(f'{folder} holds no .png images')
    arrays = [np.asarray(Image.open(f).convert('RGB')) for f in files]
    return [torch.from_numpy(a).permute(2, 0, 1).float() / 255
            for a in arrays]


@torch.no_grad()
def embed_images(model, images, device):
    import torch.nn.functional as F

    from rgl.models.encoders.base import CLIP_MEAN, CLIP_STD
    size = model.visual.image_size
    size = size if isinstance(size, (tuple, list)) else (size, size)
    x = torch.stack([F.interpolate(i[None], size=tuple(size),
                                   mode='bicubic', align_corners=False)[0]
                     for i in images]).clamp(0, 1)
    mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    return model.encode_image(((x - mean) / std).to(device),
                              normalize=True).cpu()


def main(argv=None):
    args = parse_args(argv)
    from rgl.models.anomaly.clip_loader import (build_open_clip,
                                                build_tokenizer, encode_text)
    from rgl.models.distillers.metrics import (directional_similarity,
                                               neighbour_consistency)
    model_cfg = None
    if args.clip_cfg:
        with open(args.clip_cfg) as f:
            model_cfg = json.load(f)
    model = build_open_clip(args.clip_model, args.clip_checkpoint,
                            model_cfg).to(args.device)
    tokenizer = build_tokenizer(args.clip_model, model)
    prompts = run_prompts(args.run_dir)
    tgt = args.tgt_prompt if args.tgt_prompt is not None else prompts.get(
        'tgt')
    src = args.src_prompt if args.src_prompt is not None else prompts.get(
        'src', '')
    if not isinstance(tgt, str):
        raise ConfigError(f'{args.run_dir}: no single target prompt '
                          'recorded; pass --tgt-prompt')
    sources = load_folder(osp.join(args.run_dir, 'source'))
    edited = load_folder(osp.join(args.run_dir, 'edited'))
    if len(sources) != len(edited):
        raise DataError(f'{args.run_dir}: {len(sources)} source and '
                        f'{len(edited)} edited images')
    e_src = embed_images(model, sources, args.device)
    e_edit = embed_images(model, edited, args.device)
    t = encode_text(model, tokenizer, [src, tgt]).cpu()
    result = dict(
        num_images=len(edited), tgt_prompt=tgt, src_prompt=src,
        clip_directional=float(directional_similarity(e_src, e_edit, t[0],
                                                      t[1])),
        consistency_edited=(float(neighbour_consistency(e_edit))
                            if len(edited) > 1 else None),
        consistency_source=(float(neighbour_consistency(e_src))
                            if len(sources) > 1 else None))
    out = args.out or osp.join(args.run_dir, 'metrics.json')
    with open(out, 'w') as f:
        json.dump(result, f, indent=2)
    print(json.dumps(result))


if __name__ == '__main__':
    run_cli(main)
