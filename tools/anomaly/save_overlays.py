"""Save anomaly-map overlays of a WinCLIP config as PNGs.

    python tools/anomaly/save_overlays.py CONFIG --out-dir overlays/ \
        [--num 8] [--cfg-options test_dataloader.dataset.category=screw]

Each PNG shows the image, the anomaly map ``M(x)`` (jet colours, alpha
0.5) over it, and the ground-truth mask, for the first ``--num`` defect
images of the test set (normal images when there are none).
"""
import argparse
import os
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config, DictAction
from PIL import Image

import rgl  # noqa: F401
from rgl.utils.cli import run_cli


def overlay(img, amap, alpha=0.5, vmin=None, vmax=None):
    """RGB uint8 ``(H, W, 3)``: ``img`` ``(3, H, W)`` in [0, 1] blended with
    the jet-coloured ``amap`` ``(H, W)`` scaled to [vmin, vmax]."""
    from matplotlib import colormaps
    amap = amap.float()
    lo = float(amap.min()) if vmin is None else vmin
    hi = float(amap.max()) if vmax is None else vmax
    norm = ((amap - lo) / max(hi - lo, 1e-12)).clamp(0, 1).numpy()
    heat = colormaps['jet'](norm)[..., :3]
    base = img.permute(1, 2, 0).numpy()
    return ((1 - alpha) * base + alpha * heat).clip(0, 1)


def save_overlays(config, out_dir, num=8, cfg_options=None, device='cpu'):
    """Predict the first ``num`` defect images of the config's test set and
    write ``<out_dir>/<defect>_<name>.png`` (image | overlay | mask)."""
    from mmengine.registry import DefaultScope

    from rgl.apis.inference import init_model
    from rgl.registry import DATASETS
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    model = init_model(cfg, device=device)
    with DefaultScope.overwrite_default_scope('rgl'):
        dataset = DATASETS.build(cfg.test_dataloader.dataset)
    order = [i for i, r in enumerate(dataset.records) if r['label'] == 1] \
        or list(range(len(dataset)))
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for idx in order[:num]:
        item = dataset[idx]
        batch = model.data_preprocessor(dict(
            inputs=[item['inputs']], data_samples=[item['data_samples']]))
        with torch.no_grad():
            pred = model(**batch, mode='predict')[0]
        from rgl.datasets.anomaly.base import read_rgb
        img = read_rgb(pred.metainfo['img_path']).float() / 255
        mask = pred.gt_mask.float()[None].expand(3, -1, -1)
        panel = np.concatenate([
            img.permute(1, 2, 0).numpy(),
            overlay(img, pred.anomaly_map, vmin=0.0),
            mask.permute(1, 2, 0).numpy()], axis=1)
        name = '{}_{}.png'.format(
            pred.metainfo.get('defect_type', 'img'),
            osp.splitext(osp.basename(pred.metainfo['img_path']))[0])
        path = osp.join(out_dir, name)
        Image.fromarray((panel * 255).astype(np.uint8)).save(path)
        written.append(path)
    print(f'saved {len(written)} overlays to {out_dir}')
    return written


def main(argv=None):
    p = argparse.ArgumentParser(description='Save anomaly-map overlays')
    p.add_argument('config')
    p.add_argument('--out-dir', required=True)
    p.add_argument('--num', type=int, default=8)
    p.add_argument('--device', default='cpu')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = p.parse_args(argv)
    return save_overlays(args.config, args.out_dir, args.num,
                         args.cfg_options, args.device)


if __name__ == '__main__':
    run_cli(main)
