"""Every composition config (configs/compose/) loads and builds through the
registries; checkpoints a run would produce are replaced by random weights
(their paths point into work_dirs/)."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from conftest import REPO_ROOT

CFG_DIR = osp.join(REPO_ROOT, 'configs/compose')
CONFIGS = sorted(osp.basename(p) for p in glob.glob(f'{CFG_DIR}/*.py'))
#: config -> (checkpoint keys set to None, what the built model must be)
NO_CHECKPOINT = {
    'clel-metamae-guide_tiny_digits.py': ['model.guide.checkpoint'],
    'ftcadis-repa_smallconvnet_digits-chain-sigma0.5.py':
    ['model.train_loss.denoiser.checkpoint'],
    'winclip-plus-smoothed_tiny-clip_1-shot_synthetic-sigma0.1.py':
    ['model.scorer.clip.checkpoint'],
}


def _load(name):
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    for key in NO_CHECKPOINT.get(name, []):
        cfg.merge_from_dict({key: None})
    return cfg


def _build(cfg):
    from rgl.registry import MODELS
    with DefaultScope.overwrite_default_scope('rgl'):
        return MODELS.build(cfg)


def test_every_config_is_listed():
    assert CONFIGS, CFG_DIR
    assert set(NO_CHECKPOINT) <= set(CONFIGS)


@pytest.mark.parametrize('name', CONFIGS)
def test_compose_config_builds(name):
    cfg = _load(name)
    assert cfg.default_scope == 'rgl'
    model = _build(cfg.model)
    assert model.training is not None  # a torch module
    if cfg.get('smoothing'):
        smooth_cfg = dict(cfg.smoothing)
        if smooth_cfg.get('denoiser'):
            smooth_cfg['denoiser'] = dict(smooth_cfg['denoiser'],
                                          checkpoint=None)
        model_cfg = {k: v for k, v in cfg.model.items() if k != 'train_loss'}
        smooth = _build(dict(smooth_cfg, classifier=model_cfg,
                             sigma=cfg.certify_cfg['sigma']))
        assert smooth.num_classes == (2 if 'winclip' in name else 10)


def test_repa_denoiser_pair_differs_only_by_the_aligner():
    base = _load('ddpm_dit-tiny_400it_digits-denoiser.py')
    repa = _load('repa-ddpm_dit-tiny_400it_digits-denoiser.py')
    assert base.model.get('aligners') is None
    assert [a['type'] for a in repa.model.aligners] == ['REPAAligner']
    for key in ('train_cfg', 'optim_wrapper', 'train_dataloader',
                'custom_hooks'):
        assert base[key] == repa[key], key
    strip = {k: v for k, v in repa.model.items() if k != 'aligners'}
    assert strip == {k: v for k, v in base.model.items() if k != 'aligners'}
    # the denoiser built from the REPA model has no aligner: DDPMDenoiser
    # drops the training-only projector
    den = _build(dict(type='DDPMDenoiser', model=repa.model))
    assert not len(den.model.aligners)
    x = torch.rand(2, 1, 16, 16)
    assert den.denoise(x + 0.5 * torch.randn_like(x), 0.5).shape == x.shape


def test_clel_guide_is_the_metamae_encoder():
    model = _build(_load('clel-metamae-guide_tiny_digits.py').model)
    assert type(model.guide).__name__ == 'CheckpointEncoder'
    assert not model.guide_trainable
    y = model.latent(torch.rand(3, 1, 8, 8))
    assert y.shape == (3, 64) == (3, model.head.out_dim)


def test_catrs_stage_starts_from_nib_and_control_from_ce():
    nib = _load('catrs-from-nib_smallconvnet_1xb64-3e_digits-holdout9-'
                'sigma0.25.py')
    ce = _load('catrs-from-ce_smallconvnet_1xb64-3e_digits-holdout9-'
               'sigma0.25.py')
    assert nib.model.train_loss.type == 'CATRSLoss'
    assert nib.model == ce.model and nib.train_cfg == ce.train_cfg
    assert 'nib' in nib.load_from and 'ce_' in ce.load_from
