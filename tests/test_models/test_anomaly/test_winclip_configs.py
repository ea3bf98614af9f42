import glob
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import REPO_ROOT
from rgl.registry import DATASETS, METRICS, MODEL_WRAPPERS, MODELS

CONFIGS = sorted(glob.glob(osp.join(REPO_ROOT, 'configs/winclip/*.py')))


def test_all_recipes_present():
    names = {osp.basename(c) for c in CONFIGS}
    for data in ('mvtec', 'visa'):
        assert f'winclip_vit-b-16-plus-240_zero-shot_{data}.py' in names
        for k in (1, 2, 4):
            assert (f'winclip-plus_vit-b-16-plus-240_{k}-shot_{data}.py'
                    in names)


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_resolves(path):
    cfg = Config.fromfile(path)
    model = cfg.model
    assert MODELS.get(model.type) is not None
    assert model.clip.model_name == 'ViT-B-16-plus-240'
    assert model.clip.checkpoint.endswith('laion400m_e31.pt')
    assert tuple(model.scales) == (2, 3)
    dataset = cfg.test_dataloader.dataset
    assert DATASETS.get(dataset.type) is not None
    assert dataset.split == 'test' and dataset.img_size == 240
    assert METRICS.get(cfg.test_evaluator.type) is not None
    assert MODEL_WRAPPERS.get(
        cfg.model_wrapper_cfg.type.split('.')[-1]) is not None
    name = osp.basename(path)
    if 'shot' in name and 'zero' not in name:
        k = int(name.split('_')[2].split('-')[0])
        assert model.type == 'WinCLIPPlus' and model.k_shot == k
        ref = model.reference.dataset
        assert ref.type == dataset.type and ref.split == 'train'
        assert ref.data_root == dataset.data_root
        assert model.reference.seed == 0
    else:
        assert model.type == 'WinCLIP'
