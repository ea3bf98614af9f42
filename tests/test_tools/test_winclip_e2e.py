"""WinCLIP end to end through tools/: a synthetic MVTec-layout dataset (a
striped surface with pasted square defects and their masks), a random tiny
CLIP of the real open_clip architecture saved to disk and loaded through
the config's checkpoint path, zero-shot via tools/test.py and 1-shot via
tools/anomaly/summarize.py (which runs tools/test.py per category)."""
import json
import os
import os.path as osp
import sys

import pytest

from conftest import REPO_ROOT

sys.path.insert(0, osp.join(REPO_ROOT, 'tests/test_models/test_anomaly'))
from winclip_helpers import TINY_CLIP_CFG, make_mvtec, save_tiny_clip  # noqa

CFG_DIR = osp.join(REPO_ROOT, 'configs/winclip')
KEYS = {'image_AUROC', 'image_AUPR', 'image_F1max', 'pixel_AUROC',
        'pixel_AUPR', 'pixel_F1max', 'pixel_AUPRO'}


def _config(tmp_path, base, ckpt, root):
    path = tmp_path / f'tiny_{base}'
    path.write_text(
        f"_base_ = [{osp.join(CFG_DIR, base)!r}]\n"
        f"model = dict(clip=dict(model_name='tiny', "
        f"model_cfg={TINY_CLIP_CFG!r}, checkpoint={str(ckpt)!r}))\n"
        f"test_dataloader = dict(batch_size=4, num_workers=0, dataset=dict("
        f"data_root={root!r}, category='widget', img_size=64))\n"
        "test_evaluator = dict(pixel_size=None)\n")
    return str(path)


@pytest.mark.slow
def test_winclip_zero_and_one_shot_through_tools(tool, tmp_path):
    ckpt = tmp_path / 'tiny_clip.pt'
    save_tiny_clip(ckpt)
    root = make_mvtec(str(tmp_path / 'mvtec'), 'widget', n_train=3,
                      n_good=5, n_defect=5)

    zero = _config(tmp_path, 'winclip_vit-b-16-plus-240_zero-shot_mvtec.py',
                   ckpt, root)
    cache = {'RGL_CACHE_DIR': str(tmp_path / 'cache')}
    out = tool(['tools/test.py', zero, '--work-dir', str(tmp_path / 'z'),
                '--out', str(tmp_path / 'zero.json')], env=cache)
    assert out.returncode == 0, out.stderr[-3000:]
    # the class's text prototypes went to the disk cache
    entries = os.listdir(tmp_path / 'cache' / 'winclip')
    assert len(entries) == 1 and entries[0].endswith('.safetensors')
    metrics = json.load(open(tmp_path / 'zero.json'))
    assert {k.split('/')[-1] for k in metrics} == KEYS
    assert all(0 <= v <= 100 for v in metrics.values())

    one = _config(tmp_path, 'winclip-plus_vit-b-16-plus-240_1-shot_mvtec.py',
                  ckpt, root)
    work = tmp_path / 'sum'
    out = tool(['tools/anomaly/summarize.py', one, '--work-dir', str(work),
                '--data-root', root, '--categories', 'widget',
                '--overlays', '1'], env=cache)
    assert out.returncode == 0, out.stderr[-3000:]
    # same text weights, prompts and class: read, not written again
    assert os.listdir(tmp_path / 'cache' / 'winclip') == entries
    table = (work / 'summary.md').read_text()
    assert '| widget |' in table and '**mean**' in table
    metrics = json.load(open(work / 'widget' / 'metrics.json'))
    # Even with random CLIP weights the memory bank separates pasted
    # squares from the normal stripes, and the maps land on the defects.
    assert metrics['anomaly/image_AUROC'] > 90
    assert metrics['anomaly/pixel_AUROC'] > 85
    assert os.listdir(work / 'widget' / 'overlays') == ['scratch_000.png']

    # gathering again reads the saved metrics
    out = tool(['tools/anomaly/summarize.py', one, '--work-dir', str(work),
                '--categories', 'widget', '--gather-only'])
    assert out.returncode == 0 and '| widget |' in out.stdout
