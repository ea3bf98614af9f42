"""The paper recipes in configs/repa/ hold REPA's hyperparameters and
build (DINOv2-B and the SD-VAE with random weights, on the meta device)."""
import pytest
import torch
from mmengine.config import Config

from rgl.registry import MODELS

PAPER = {
    'sit_xl.py': ('XL/2', 8), 'sit_l.py': ('L/2', 8), 'sit_b.py': ('B/2', 4),
    'sit_xl_baseline.py': ('XL/2', None), 'sit_l_baseline.py': ('L/2', None),
    'sit_b_baseline.py': ('B/2', None), 'dit_xl.py': ('XL/2', 8),
    'dit_l.py': ('L/2', 8)
}


@pytest.mark.parametrize('name', sorted(PAPER))
def test_recipe_values(name):
    cfg = Config.fromfile(f'configs/repa/{name}')
    arch, depth = PAPER[name]
    model = cfg.model
    assert model.backbone.arch == arch
    assert model.label_dropout == 0.1
    if depth is None:
        assert not model.aligners
    else:
        (aligner, ) = model.aligners
        assert (aligner.depth, aligner.loss_weight, aligner.projector_dim) \
            == (depth, 0.5, 2048)
        assert aligner.encoders[0].type == 'DINOv2Encoder'
        assert aligner.encoders[0].arch == 'vit_b'
    opt = cfg.optim_wrapper
    assert opt.optimizer.type == 'AdamW' and opt.optimizer.lr == 1e-4
    assert opt.optimizer.weight_decay == 0 and opt.clip_grad.max_norm == 1.0
    assert cfg.param_scheduler == []  # constant lr
    assert cfg.train_dataloader.batch_size * 8 == 256
    ema = [h for h in cfg.custom_hooks if h.type == 'EMAHook'][0]
    assert ema.momentum == 1e-4  # decay 0.9999
    if name.startswith('dit'):
        assert model.type == 'DDPM' and model.num_timesteps == 1000
        assert model.backbone.learn_sigma
    else:
        assert model.type == 'FlowMatching' and model.path == 'linear'
        assert model.sampler.num_steps == 250


def test_sit_xl_builds_on_meta():
    cfg = Config.fromfile('configs/repa/sit_xl.py')
    model_cfg = cfg.model
    model_cfg.vae = None
    model_cfg.aligners[0].encoders[0].checkpoint = None
    with torch.device('meta'):
        model = MODELS.build(model_cfg)
    assert model.aligners[0].tap.name == 'blocks.7'
    projector = sum(p.numel() for p in model.aligners[0].parameters())
    # REPA's ~8M-parameter projector: 1152·2048 + 2048² + 2048·768 + biases
    assert projector == 1152 * 2048 + 2048 + 2048 * 2048 + 2048 + \
        2048 * 768 + 768
