import json
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

DATA = osp.join(osp.dirname(osp.dirname(__file__)), 'data', 'tia2')
TINY_CLIP = dict(
    embed_dim=16,
    vision_cfg=dict(image_size=32, layers=1, width=32, head_width=16,
                    patch_size=16),
    text_cfg=dict(context_length=77, vocab_size=49408, width=16, heads=2,
                  layers=1))


def test_table_and_generators(tool):
    r = tool(['tools/textnorm/evaluate_tia2.py', 'table',
              osp.join(DATA, 'alignment_scores_counting.json')])
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'textnorm_ur' in r.stdout and '3 prompts' in r.stdout
    r = tool(['tools/textnorm/evaluate_tia2.py', 'generators',
              osp.join(DATA, 'prompt_set_counting.json'), '--rule',
              'counting'])
    assert r.returncode == 0 and '(100.0%)' in r.stdout, r.stderr


@pytest.fixture
def setup(tmp_path):
    import open_clip
    torch.manual_seed(0)
    ckpt = str(tmp_path / 'clip.bin')
    torch.save(open_clip.CLIP(**TINY_CLIP).state_dict(), ckpt)
    labels = json.load(open(osp.join(DATA, 'human_labels_counting.json')))
    images = tmp_path / 'images'
    images.mkdir()
    rng = np.random.default_rng(0)
    for name in labels:
        arr = rng.integers(0, 256, size=(24, 24, 3), dtype=np.uint8)
        Image.fromarray(arr).save(images / name)
    cfg = tmp_path / 'cfg.py'
    clip = dict(type='CLIPScore', model_name='tiny', checkpoint=ckpt,
                model_cfg=TINY_CLIP, batch_size=64)
    cfg.write_text(
        f'reward_models = dict(clip={clip!r}, clip2={clip!r})\n'
        "textnorm = dict(tau=1.0, ensemble='ur', lam=0.5,\n"
        "                prompt_generator=dict(type='CountingPrompts'))\n")
    return tmp_path, str(cfg), str(images)


def test_score_end_to_end(tool, setup):
    root, cfg, images = setup
    out = str(root / 'scores.json')
    r = tool(['tools/textnorm/evaluate_tia2.py', 'score', cfg, '--labels',
              osp.join(DATA, 'human_labels_counting.json'), '--images',
              images, '--prompt-set',
              osp.join(DATA, 'prompt_set_counting.json'), '--out', out])
    assert r.returncode == 0, r.stderr[-3000:]
    scores = json.load(open(out))
    released = json.load(open(osp.join(DATA,
                                       'alignment_scores_counting.json')))
    assert set(scores) == set(released)
    for p, entry in scores.items():
        assert entry['human'] == pytest.approx(released[p]['human'])
        assert set(entry) == {'human', 'clip', 'clip2', 'textnorm_ur'}
        assert set(released[p]['clip']) == set(entry['clip'])
        # two copies of one model: the same metrics
        assert entry['clip'] == entry['clip2']
        assert entry['textnorm_ur']['lambda'] == 0.5
    assert 'textnorm_ur' in r.stdout and 'auroc' in r.stdout


def test_score_errors(tool, setup):
    root, cfg, images = setup
    labels = osp.join(DATA, 'human_labels_counting.json')
    r = tool(['tools/textnorm/evaluate_tia2.py', 'score', cfg, '--labels',
              labels, '--images', images, '--cfg-options', 'textnorm.tau=0'])
    assert r.returncode == 2 and 'tau' in r.stderr, r.stderr[-2000:]
    (root / 'images' / 'image_0_0_3.jpg').unlink()
    r = tool(['tools/textnorm/evaluate_tia2.py', 'score', cfg, '--labels',
              labels, '--images', images])
    assert r.returncode == 2 and 'Traceback' not in r.stderr
    assert r.stderr.startswith('error:')
    assert 'image_0_0_3.jpg' in r.stderr, r.stderr
