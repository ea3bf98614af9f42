"""The paper configs carry CLEL's settings and build, with two optimisers."""
import math

import pytest
from mmengine.config import Config
from mmengine.optim import OptimWrapperDict

from conftest import REPO_ROOT

PAPER = ['clel_resnet_1xb64-100k_cifar10.py',
         'clel_resnet_1xb64-100k_imagenet32.py']


@pytest.mark.parametrize('name', PAPER)
def test_paper_settings(name):
    cfg = Config.fromfile(f'{REPO_ROOT}/configs/clel/{name}')
    m = cfg.model
    assert m.sampler == dict(type='SGLDSampler', num_steps=60,
                             step_size=100.0, noise=0.001)
    assert m.buffer == dict(size=10000, reinit_prob=0.001)
    assert (m.alpha, m.beta, m.temperature) == (1.0, 0.01, 0.2)
    assert m.backbone.arch == 'resnet'
    assert m.head.projection_dims == (2048, 128)
    assert cfg.train_dataloader.batch_size == 64
    assert cfg.train_cfg.max_iters == 100000
    ema = [h for h in cfg.custom_hooks if h['type'] == 'EMAHook'][0]
    # half-life of 20,000 samples at batch 64
    assert (1 - ema['momentum'])**(20000 / 64) == pytest.approx(0.5,
                                                                rel=1e-3)
    assert cfg.optim_wrapper.ebm.optimizer.betas == (0.0, 0.999)


def test_digits_pair_builds_two_optimisers():
    from rgl.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
    for name, keys in (('clel_tiny_digits.py', {'ebm', 'guide'}),
                       ('ebm_tiny_digits.py', {'ebm'})):
        cfg = Config.fromfile(f'{REPO_ROOT}/configs/clel/{name}')
        model = MODELS.build(cfg.model)
        ow = dict(cfg.optim_wrapper)
        ctor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
            type=ow.pop('constructor'), optim_wrapper_cfg=ow))
        wrappers = ctor(model)
        assert isinstance(wrappers, OptimWrapperDict)
        assert set(wrappers.keys()) == keys
        n = sum(p.numel() for g in wrappers['ebm'].param_groups
                for p in g['params'])
        assert n == sum(p.numel() for p in model.backbone.parameters()) + \
            sum(p.numel() for p in model.head.parameters())
    assert not math.isnan(n)
