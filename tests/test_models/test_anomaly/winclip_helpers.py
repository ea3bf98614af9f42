"""Shared by the WinCLIP tests: a tiny open_clip architecture and a
synthetic anomaly dataset written to disk in MVTec AD's layout."""
import os
import os.path as osp

import numpy as np
import torch
from PIL import Image

#: A real open_clip CLIP (ViT image tower, transformer text tower) at a
#: tiny size: 64x64 input, patch 16, so a 4x4 token grid.
TINY_CLIP_CFG = dict(
    embed_dim=32,
    vision_cfg=dict(image_size=64, layers=2, width=64, head_width=32,
                    patch_size=16),
    text_cfg=dict(context_length=77, vocab_size=49408, width=32, heads=2,
                  layers=1))


def save_tiny_clip(path, seed=0):
    """Random-initialised tiny CLIP saved as a plain state dict (the format
    of open_clip's released weights)."""
    import open_clip
    torch.manual_seed(seed)
    model = open_clip.CLIP(**TINY_CLIP_CFG)
    torch.save(model.state_dict(), path)
    return model


def _texture(rng, size):
    """A smooth, slightly noisy normal surface (same pattern each time)."""
    yy, xx = np.mgrid[0:size[0], 0:size[1]]
    base = 0.5 + 0.2 * np.sin(xx / 6.0)[..., None] * np.array([1, .8, .6])
    return base + rng.normal(0, 0.02, base.shape)


def _save(path, arr):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray((np.clip(arr, 0, 1) * 255).astype(np.uint8)).save(path)


def make_mvtec(root, category='widget', size=(96, 128), n_train=4,
               n_good=4, n_defect=4, seed=0):
    """Write ``root/<category>/{train/good,test/good,test/scratch,
    ground_truth/scratch}`` with pasted square defects and their masks."""
    rng = np.random.default_rng(seed)
    base = osp.join(root, category)
    for i in range(n_train):
        _save(osp.join(base, 'train/good', f'{i:03d}.png'),
              _texture(rng, size))
    for i in range(n_good):
        _save(osp.join(base, 'test/good', f'{i:03d}.png'),
              _texture(rng, size))
    for i in range(n_defect):
        img = _texture(rng, size)
        mask = np.zeros(size, dtype=np.uint8)
        h, w = rng.integers(size[0] // 6 + 1, size[0] // 3 + 2, 2)
        y, x = rng.integers(0, size[0] - h), rng.integers(0, size[1] - w)
        img[y:y + h, x:x + w] = rng.uniform(0, 1, 3)
        mask[y:y + h, x:x + w] = 255
        _save(osp.join(base, 'test/scratch', f'{i:03d}.png'), img)
        Image.fromarray(mask).save(
            _mkdir(osp.join(base, 'ground_truth/scratch',
                            f'{i:03d}_mask.png')))
    return root


def _mkdir(path):
    os.makedirs(osp.dirname(path), exist_ok=True)
    return path
