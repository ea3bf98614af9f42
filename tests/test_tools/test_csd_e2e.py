"""tools/csd/edit.py and tools/csd/evaluate.py end to end on tiny random
diffusers and open_clip models saved to disk."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from rgl.models.distillers.tiny import build_tiny_pipeline

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CLIP = dict(
    embed_dim=16,
    vision_cfg=dict(image_size=32, layers=1, width=32, head_width=16,
                    patch_size=16),
    text_cfg=dict(context_length=77, vocab_size=49408, width=16, heads=2,
                  layers=1))


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('csd')
    pipe = build_tiny_pipeline(str(root / 'ip2p'))
    rng = np.random.default_rng(0)
    for name, n, (h, w) in (('set', 3, (20, 24)), ('pano', 1, (16, 40)),
                            ('video', 3, (16, 16))):
        (root / name).mkdir()
        for i in range(n):
            arr = (rng.random((h, w, 3)) * 255).astype('uint8')
            Image.fromarray(arr).save(root / name / f'{i:03d}.png')
    cfgs = {}
    for task, base, extra in (
            ('images', 'csdedit_images_512.py',
             'data = dict(tgt_prompt="a dog", image_size=(16, 16))\n'),
            ('panorama', 'csdedit_panorama.py',
             "data = dict(tgt_prompt='a dog')\n"
             'panorama = dict(window=4, stride=2, batch=4)\n'),
            ('video', 'csdedit_video.py',
             'data = dict(tgt_prompt="a dog", image_size=(16, 16))\n')):
        path = root / f'{task}.py'
        path.write_text(
            f'_base_ = [{osp.join(ROOT, "configs/csd", base)!r}]\n'
            f'model = dict(score_source=dict(pretrained={pipe!r}, '
            "dtype='fp32'), num_steps=3)\n"
            + extra)
        cfgs[task] = str(path)
    return root, cfgs


def test_csd_edit_images_resume_and_evaluate(tool, setup):
    root, cfgs = setup
    inputs = ['--inputs', str(root / 'set')]
    a, b = str(root / 'out_a'), str(root / 'out_b')
    r = tool(['tools/csd/edit.py', cfgs['images'], '--out', a] + inputs)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'wrote' in r.stdout
    # interrupted after one step, then resumed: the same result
    r = tool(['tools/csd/edit.py', cfgs['images'], '--out', b, '--stop-at',
              '1'] + inputs)
    assert r.returncode == 0 and 'stopped at step 1' in r.stdout, r.stderr
    r = tool(['tools/csd/edit.py', cfgs['images'], '--out', b] + inputs)
    assert r.returncode == 0 and 'resuming' in r.stdout, r.stderr[-2000:]
    sa = torch.load(osp.join(a, 'state.pt'))
    sb = torch.load(osp.join(b, 'state.pt'))
    assert sa['step'] == sb['step'] == 3
    torch.testing.assert_close(sa['target'], sb['target'])
    source = torch.load(osp.join(a, 'state.pt'))['target']
    assert source.shape == (3, 4, 8, 8)
    gallery = Image.open(osp.join(a, 'gallery.png'))
    assert gallery.size == (3 * 16, 2 * 16)
    # another run's output is refused in one line
    r = tool(['tools/csd/edit.py', cfgs['images'], '--out', a,
              '--tgt-prompt', 'a cat'] + inputs)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].startswith('error:')
    assert 'different run' in r.stderr and 'Traceback' not in r.stderr
    # CLIP metrics from a local open_clip file
    import open_clip
    torch.manual_seed(0)
    ckpt = str(root / 'clip.bin')
    torch.save(open_clip.CLIP(**TINY_CLIP).state_dict(), ckpt)
    cfg_json = root / 'clip.json'
    cfg_json.write_text(json.dumps(TINY_CLIP))
    r = tool(['tools/csd/evaluate.py', a, '--clip-model', 'tiny',
              '--clip-checkpoint', ckpt, '--clip-cfg', str(cfg_json)])
    assert r.returncode == 0, r.stderr[-2000:]
    metrics = json.load(open(osp.join(a, 'metrics.json')))
    assert metrics['num_images'] == 3 and metrics['tgt_prompt'] == 'a dog'
    assert -1 <= metrics['clip_directional'] <= 1
    assert -1 <= metrics['consistency_edited'] <= 1


def test_csd_edit_panorama_video_and_errors(tool, setup):
    root, cfgs = setup
    out = str(root / 'pano')
    # two region prompts, mixed per window
    r = tool(['tools/csd/edit.py', cfgs['panorama'], '--out', out,
              '--inputs', str(root / 'pano'), '--tgt-prompt', 'a dog',
              'snow'])
    assert r.returncode == 0, r.stderr[-2000:]
    edited = Image.open(osp.join(out, 'edited', '00000.png'))
    assert edited.size == (40, 16)
    side = json.load(open(osp.join(out, 'run_identity.json')))
    assert side['run']['prompts']['tgt'] == ['a dog', 'snow']
    out = str(root / 'video')
    r = tool(['tools/csd/edit.py', cfgs['video'], '--out', out, '--inputs',
              str(root / 'video'), '--num-steps', '1'])
    assert r.returncode == 0, r.stderr[-2000:]
    gif = Image.open(osp.join(out, 'edited.gif'))
    assert gif.n_frames == 3
    r = tool(['tools/csd/edit.py', cfgs['video'], '--out',
              str(root / 'bad'), '--inputs', str(root / 'video'),
              '--pipeline', str(root / 'no_such_pipeline')])
    assert r.returncode == 2 and 'no_such_pipeline' in r.stderr
    assert 'Traceback' not in r.stderr
