import logging
import os.path as osp
import types

from PIL import Image

from rgl.engine.hooks import GenerationEvalHook
from rgl.registry import MODELS


def test_grid_of_chosen_labels(tmp_path):
    model = MODELS.build(dict(
        type='FlowMatching',
        backbone=dict(type='SiT', arch=dict(depth=1, hidden_size=32,
                                            num_heads=4, patch_size=2),
                      input_size=8, in_channels=1, num_classes=1000)))
    runner = types.SimpleNamespace(model=model, hooks=[],
                                   work_dir=str(tmp_path), iter=3,
                                   logger=logging.getLogger('test'))
    hook = GenerationEvalHook(sampler=dict(type='ODESampler', num_steps=2),
                              grid_labels=[1, 2, 3, 4])
    hook.after_train(runner)
    img = Image.open(osp.join(tmp_path, 'samples', 'iter_3.png'))
    # 2 x 2 grid of 8x8 images with torchvision's 2-pixel padding
    assert img.size == (2 * 10 + 2, 2 * 10 + 2)
