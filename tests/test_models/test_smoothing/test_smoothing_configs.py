import glob
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import REPO_ROOT
from rgl.registry import MODELS

CONFIGS = sorted(glob.glob(osp.join(REPO_ROOT, 'configs', 'smoothing',
                                    '*.py')))


def test_every_sigma_has_every_cifar_method():
    names = {osp.basename(p) for p in CONFIGS}
    for method in ('gaussian', 'stability', 'consistency', 'smoothadv',
                   'macer', 'smoothmix', 'catrs'):
        for sigma in ('0.25', '0.5', '1.0'):
            assert (f'{method}_resnet110_1xb256-150e_cifar10-sigma{sigma}.py'
                    in names)


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_loads_and_its_loss_builds(path):
    cfg = Config.fromfile(path)
    loss_cfg = dict(cfg.model.train_loss)
    sigma = float(osp.splitext(osp.basename(path))[0].split('sigma')[-1])
    assert loss_cfg['sigma'] == cfg.certify_cfg.sigma == sigma
    loss_cfg.pop('teacher', None)  # its checkpoint is a user's file
    loss = MODELS.build(loss_cfg)
    assert loss.sigma == sigma


def test_paper_hyperparameters():
    def loss(name):
        return Config.fromfile(osp.join(REPO_ROOT, 'configs', 'smoothing',
                                        name)).model.train_loss
    for sigma, lbd in (('0.25', 0.5), ('0.5', 1.0), ('1.0', 2.0)):
        cat = loss(f'catrs_resnet110_1xb256-150e_cifar10-sigma{sigma}.py')
        assert (cat.lbd, cat.num_noise, cat.epsilon, cat.num_steps) == (
            lbd, 4, 1.0, 4)
    adv = loss('smoothadv_resnet110_1xb256-150e_cifar10-sigma1.0.py')
    assert (adv.epsilon, adv.num_noise, adv.num_steps) == (2.0, 2, 10)
    mix = loss('smoothmix_resnet110_1xb256-150e_cifar10-sigma0.5.py')
    assert (mix.step_size, mix.mix_step, mix.eta) == (1.0, 1, 5.0)
    cat = loss('catrs_resnet50_8xb32-90e_imagenet-sigma1.0.py')
    assert (cat.num_noise, cat.num_steps, cat.lbd) == (2, 1, 2.0)
    assert cat.teacher.classifier.backbone.type == 'mmpretrain.ResNet'


def test_imagenet_resnet50_builds_through_mmpretrain():
    cfg = Config.fromfile(osp.join(
        REPO_ROOT, 'configs', 'smoothing',
        'gaussian_resnet50_8xb32-90e_imagenet-sigma0.5.py'))
    import torch
    model = MODELS.build(cfg.model)
    assert type(model.backbone).__module__.startswith('mmpretrain')
    assert model.logits(torch.rand(1, 3, 64, 64)).shape == (1, 1000)


@pytest.mark.parametrize('path', [p for p in CONFIGS if 'cifar10' in p],
                         ids=osp.basename)
def test_cifar10_configs_use_the_reference_normalisation(path):
    """locuslab/smoothing and CAT-RS normalise CIFAR-10 with these
    constants; their checkpoints give other logits under any other."""
    model = Config.fromfile(path).model
    assert model.mean == [0.4914, 0.4822, 0.4465]
    assert model.std == [0.2023, 0.1994, 0.2010]
