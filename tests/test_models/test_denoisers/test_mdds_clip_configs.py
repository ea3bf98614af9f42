"""The MDDS configs in the paper's setting: a CLIP-B/16 fine-tuned by the
FT-CLIP recipe, whose checkpoint the cascade configs load; a pretrained
tower without head and ln_post loads through ``missing_ok`` only."""
import copy

import pytest
import torch
from mmengine.config import Config

import rgl.models.classifiers.finetuned  # noqa: F401  (registers it)
from conftest import REPO_ROOT
from rgl.registry import MODELS
from rgl.utils.errors import CheckpointError

FT = f'{REPO_ROOT}/configs/denoised/mdds_clip-b16-ft_2xb64-100e_cifar10.py'
FT_IN1K = f'{REPO_ROOT}/configs/denoised/mdds_clip-b16-ft_8xb256-50e_in1k.py'
CASCADE = {
    FT: f'{REPO_ROOT}/configs/denoised/'
    'mdds_adm-cifar10-uncond_clip-b16_cifar10.py',
    FT_IN1K: f'{REPO_ROOT}/configs/denoised/'
    'mdds_adm-256-uncond_clip-b16_imagenet.py',
}
TINY = dict(depth=2, embed_dim=32, num_heads=2, img_size=32)


def _tiny(cfg):
    """The config's model at test size (same structure and key layout)."""
    cfg = copy.deepcopy(cfg)
    cfg['classifier']['model_kwargs'].update(TINY)
    cfg['classifier'].pop('checkpoint', None)
    return cfg


@pytest.mark.parametrize('ft', [FT, FT_IN1K])
def test_paper_recipe_and_the_cascade_loads_its_checkpoint(ft, tmp_path):
    cfg = Config.fromfile(ft)
    clf = cfg.model.classifier
    assert clf.model == 'vit_base_patch16_clip_quickgelu_224'
    assert clf.model_kwargs.global_pool == 'avg' and clf.mean == [0.5] * 3
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.6
    assert cfg.optim_wrapper.optimizer.lr == 6e-4
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.05
    assert cfg.model.label_smoothing == 0.1
    assert cfg.custom_hooks[0].momentum == pytest.approx(1 - 0.9998)
    cascade = Config.fromfile(CASCADE[ft])
    assert cascade.cascade.sigmas == [1.0, 0.5, 0.25]
    assert cascade.cascade.skip_p == 0.5 and cascade.certify_cfg.n == 10_000
    want = {k: v for k, v in clf.items() if k not in ('checkpoint',
                                                      'missing_ok')}
    assert cascade.model.classifier.to_dict() == dict(want)
    # what tools/train.py saves (mmengine's get_state_dict) loads strictly
    # into the cascade's model
    from mmengine.runner.checkpoint import get_state_dict
    trained = MODELS.build(_tiny(cfg.model.to_dict()))
    certified = MODELS.build(_tiny(cascade.model.to_dict()))
    certified.load_state_dict(get_state_dict(trained), strict=True)


def test_pretrained_tower_without_head_and_ln_post(tmp_path):
    cfg = Config.fromfile(FT).model.classifier.to_dict()
    cfg['model_kwargs'].update(TINY)
    tower = MODELS.build({k: v for k, v in cfg.items()
                          if k not in ('checkpoint', 'missing_ok')})
    state = {k: v for k, v in tower.net.state_dict().items()
             if not k.startswith(('head.', 'norm.'))}
    path = tmp_path / 'clip.pth'
    torch.save(state, path)
    cfg['checkpoint'] = str(path)
    model = MODELS.build(cfg)
    torch.testing.assert_close(model.net.pos_embed, tower.net.pos_embed)
    with pytest.raises(CheckpointError, match='head'):
        MODELS.build(dict(cfg, missing_ok=('norm.', )))
