import logging
import os.path as osp
import types

import numpy as np
import torch
from PIL import Image

from rgl.engine.hooks import GenerationEvalHook
from rgl.registry import MODELS


def test_grid_of_chosen_labels(tmp_path):
    model = MODELS.build(dict(
        type='FlowMatching',
        backbone=dict(type='SiT', arch=dict(depth=1, hidden_size=32,
                                            num_heads=4, patch_size=2),
                      input_size=8, in_channels=1, num_classes=1000)))
    torch.manual_seed(0)  # not adaLN-Zero: the sampler must matter
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.2)
    runner = types.SimpleNamespace(model=model, hooks=[],
                                   work_dir=str(tmp_path), iter=3,
                                   logger=logging.getLogger('test'))
    guided = dict(type='ODESampler', num_steps=2, cfg_scale=4.0)
    hook = GenerationEvalHook(sampler=dict(type='ODESampler', num_steps=2),
                              grid_sampler=guided,
                              grid_labels=[1, 2, 3, 4], grid_rows=2,
                              class_names=[f'c{i}' for i in range(1000)])
    hook.after_train(runner)
    img = Image.open(osp.join(tmp_path, 'samples', 'iter_3.png'))
    # one column per chosen class, 2 samples each, names on top: the
    # shared grid of rgl.visualization, with 8x8 samples drawn at 32x32
    from rgl.visualization import draw_sample_grid
    torch.manual_seed(0)
    grid = hook._generate(model, torch.tensor([1, 2, 3, 4]).repeat(2),
                          guided)
    ref = draw_sample_grid(grid, [1, 2, 3, 4] * 2,
                           [f'c{i}' for i in range(1000)])
    assert img.size == ref.size and img.size[0] == 4 * 34 + 2
    assert np.array_equal(np.asarray(img.convert('RGB')), np.asarray(ref))
    unguided = draw_sample_grid(
        hook._generate(model, torch.tensor([1, 2, 3, 4]).repeat(2)),
        [1, 2, 3, 4] * 2, [f'c{i}' for i in range(1000)])
    assert not np.array_equal(np.asarray(unguided), np.asarray(ref))


def test_digits_grid_has_a_column_per_class(tmp_path):
    model = MODELS.build(dict(
        type='FlowMatching',
        backbone=dict(type='SiT', arch=dict(depth=1, hidden_size=32,
                                            num_heads=4, patch_size=2),
                      input_size=16, in_channels=1, num_classes=10)))
    dataset = types.SimpleNamespace(metainfo=dict(
        classes=tuple(str(i) for i in range(10))))
    runner = types.SimpleNamespace(
        model=model, hooks=[], work_dir=str(tmp_path), iter=0,
        logger=logging.getLogger('test'),
        train_dataloader=types.SimpleNamespace(dataset=dataset))
    hook = GenerationEvalHook(sampler=dict(type='ODESampler', num_steps=1),
                              grid_rows=3)
    hook.after_train(runner)
    img = Image.open(osp.join(tmp_path, 'samples', 'iter_0.png'))
    # 10 columns of 32x32 cells (16x16 enlarged x2)
    assert img.size[0] == 10 * 34 + 2
    assert img.size[1] > 3 * 34 + 2  # room for the class names
