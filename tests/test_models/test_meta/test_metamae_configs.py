"""configs/metamae/: every config builds its model; the paper configs carry
the paper's sizes, hyper-parameters and optimiser."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from rgl.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'metamae', '*.py')))


def test_there_are_configs():
    names = {osp.basename(p) for p in CONFIGS}
    assert {'metamae_dabs_1xb256-100k_pamap2.py',
            'metamae_dabs_1xb256-100k_higgs.py',
            'mae_dabs_1xb256-100k_pamap2.py',
            'metamae-tiny_1xb64-300it_digits.py'} <= names


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds(path):
    cfg = Config.fromfile(path)
    model = MODELS.build(cfg.model)
    assert {'train', 'test'} <= set(cfg.probe)
    baseline = osp.basename(path).startswith('mae')
    assert (model.inner_steps == 0) == baseline
    assert (model.projector is None) == baseline


def test_pamap2_is_the_official_command():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'metamae',
                                   'metamae_dabs_1xb256-100k_pamap2.py'))
    m = cfg.model
    assert (m.mask_ratio, m.inner_lr, m.reg_weight, m.s_ratio) == \
        (0.85, 0.5, 1.0, 0.1)
    assert not m.first_order and m.temperature == 0.5
    assert m.arch == dict(embed_dim=256, depth=12, num_heads=8,
                          decoder_embed_dim=128, decoder_depth=4,
                          decoder_num_heads=4, mlp_ratio=2.0, dropout=0.1)
    assert m.tokenizer == dict(type='SequencePatchTokenizer', seq_len=320,
                               patch_size=5, in_channels=52)
    assert cfg.optim_wrapper.optimizer == dict(type='AdamW', lr=1e-4,
                                               weight_decay=1e-4)
    assert cfg.train_cfg.max_iters == 100000
    assert cfg.train_dataloader.batch_size == 256
    assert (cfg.probe.lr, cfg.probe.weight_decay, cfg.probe.epochs) == \
        (1e-4, 1e-4, 100)
