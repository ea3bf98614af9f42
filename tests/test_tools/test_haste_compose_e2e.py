"""REG + iREPA + HASTE with early stop, composed by config alone, end to
end through tools/train.py; and the paper configs build."""
import json
import os.path as osp
import re

import numpy as np
import pytest

CONFIG = 'configs/haste/sit-tiny_reg-irepa-haste_digits.py'
FAST = [
    'train_cfg.max_iters=4', 'default_hooks.checkpoint.interval=4',
    'default_hooks.alignment_stop.stop_iter=2',
    'default_hooks.logger.interval=1', 'log_processor.window_size=1',
    'train_dataloader.batch_size=8', 'custom_hooks.2.num_samples=10',
    'custom_hooks.2.grid_rows=1', 'custom_hooks.2.sampler.num_steps=2',
    'custom_hooks.2.grid_sampler.num_steps=2'
]


@pytest.mark.slow
def test_composed_config_trains_samples_and_scores(tool, tmp_path):
    work = str(tmp_path / 'work')
    res = tool(['tools/train.py', CONFIG, '--work-dir', work,
                '--cfg-options'] + FAST)
    assert res.returncode == 0, res.stderr[-3000:]
    log = res.stdout + res.stderr

    def values(key):
        return [float(v) for v in re.findall(key + r': (-?[\d.]+)', log)]

    # REG's class-token loss runs throughout; the alignment stops at 2
    assert len(values('loss_cls')) == 4 and all(values('loss_cls'))
    assert all(v > 0 for v in values('loss_attn')[:2])
    assert values('loss_attn')[2:] == [0.0, 0.0]
    assert values('loss_repa')[2:] == [0.0, 0.0]
    assert values('loss_repa')[0] != 0
    assert osp.exists(osp.join(work, 'iter_4.pth'))
    assert osp.exists(osp.join(work, 'samples', 'iter_4.png'))
    scores = json.load(open(osp.join(work, 'scores.json')))
    assert np.isfinite(scores['4']['fd_enc'])


@pytest.mark.parametrize('path', [
    'configs/haste/sit_xl.py', 'configs/haste/sit_xl_reg-irepa-haste.py',
    'configs/irepa/sit_xl.py', 'configs/irepa/sit_b.py'
])
def test_paper_configs_build(path):
    """The ImageNet configs, with a narrow SiT and DINOv2-B of random
    weights: their aligner settings are accepted as written."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from rgl.registry import MODELS
    cfg = Config.fromfile(path)
    model = cfg.model
    depth = 8 if 'haste' in path else model.aligners[0]['depth']
    model.backbone.arch = dict(depth=depth, hidden_size=192, num_heads=12,
                               patch_size=2)
    model.backbone.input_size = 8
    model.vae = None
    enc = model.aligners[0]['encoders'][0]
    # REG's class token needs DINOv2-B's true width (768)
    width = 768 if 'reg' in path else 24
    enc.update(checkpoint=None, grid_size=4,
               model_kwargs=dict(embed_dim=width, depth=12, num_heads=12,
                                 mlp_ratio=0.25))
    with DefaultScope.overwrite_default_scope('rgl'), \
            pytest.warns(UserWarning, match='RANDOM'):
        built = MODELS.build(model)
    aligner = built.aligners[0]
    assert aligner.loss_weight == (1.0 if 'irepa/' in path else 0.5)
    if 'haste' in path:
        assert aligner.attn_blocks == [4, 5, 6, 7]
        assert aligner.encoder_attn_blocks == [8, 9, 10, 11]
        assert cfg.default_hooks.alignment_stop.stop_iter == 250000
        assert cfg.model_wrapper_cfg.find_unused_parameters
    if 'irepa' in path:
        assert aligner.spatial_norm == dict(gamma=0.6, eps=1e-6)
        assert aligner.projectors[0].conv.kernel_size == (3, 3)
    x = torch.rand(2, 4, 8, 8)
    t, y = torch.rand(2), torch.tensor([0, 1])
    if 'reg' in path:
        out = built.backbone(x, t, y, cls_token=torch.randn(2, 768))[0]
    else:
        out = built.backbone(x, t, y)
    assert out.shape == x.shape
