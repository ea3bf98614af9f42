import importlib.util
import os.path as osp
import textwrap

import pytest
from mmengine.config import Config

from conftest import REPO_ROOT

BASE = osp.join(REPO_ROOT, 'configs', '_base_')
DIGITS_CFG = osp.join(REPO_ROOT, 'configs', 'digits',
                      'smallconvnet_1xb64-20e_digits.py')


def load_tool(name):
    spec = importlib.util.spec_from_file_location(
        f'rgl_tool_{name}', osp.join(REPO_ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_base_inheritance_merges_all_bases():
    cfg = Config.fromfile(DIGITS_CFG)
    assert cfg.default_scope == 'rgl'
    assert cfg.model.type == 'ImageClassifier'
    assert cfg.train_dataloader.dataset.type == 'DigitsDataset'
    assert cfg.optim_wrapper.optimizer.type == 'SGD'
    # the child overrides one key of a base dict and keeps the others
    assert cfg.default_hooks.logger.interval == 10
    assert cfg.default_hooks.logger.type == 'LoggerHook'


def test_delete_key_replaces_a_base_dict(tmp_path):
    child = tmp_path / 'child.py'
    child.write_text(textwrap.dedent(f"""
        _base_ = [{DIGITS_CFG!r}]
        optim_wrapper = dict(
            _delete_=True, type='OptimWrapper',
            optimizer=dict(type='AdamW', lr=1e-3))
    """))
    cfg = Config.fromfile(str(child))
    assert cfg.optim_wrapper.optimizer == dict(type='AdamW', lr=1e-3)
    assert 'momentum' not in cfg.optim_wrapper.optimizer


def test_base_from_another_package(tmp_path):
    child = tmp_path / 'child.py'
    child.write_text(textwrap.dedent(f"""
        _base_ = ['mmpretrain::_base_/schedules/cifar10_bs128.py',
                  {BASE!r} + '/models/small_convnet.py',
                  {BASE!r} + '/datasets/digits_bs64.py',
                  {BASE!r} + '/default_runtime.py']
        train_cfg = dict(max_epochs=3)
    """))
    cfg = Config.fromfile(str(child))
    # the schedule of mmpretrain's CIFAR recipe, applied to rgl's model
    assert cfg.param_scheduler.type == 'MultiStepLR'
    assert cfg.param_scheduler.milestones == [100, 150]
    assert cfg.train_cfg.max_epochs == 3
    assert cfg.model.type == 'ImageClassifier'


def test_cli_flags_then_cfg_options_override(tmp_path):
    train = load_tool('train')
    work_dir = str(tmp_path / 'x')  # empty: --resume finds nothing yet
    args = train.parse_args([
        DIGITS_CFG, '--work-dir', work_dir, '--amp', '--resume',
        '--cfg-options', 'model.num_classes=7',
        'train_dataloader.batch_size=8', 'optim_wrapper.optimizer.lr=0.5'
    ])
    cfg = train.merge_args(Config.fromfile(DIGITS_CFG), args)
    assert cfg.work_dir == work_dir
    assert cfg.model.num_classes == 7
    assert cfg.train_dataloader.batch_size == 8
    assert cfg.optim_wrapper.optimizer.lr == 0.5
    assert cfg.resume is True and cfg.load_from is None
    # --amp on a CPU-only machine selects bf16 autocast without loss scaling
    import torch
    expected = ('AmpOptimWrapper'
                if torch.cuda.is_available() else 'AutocastOptimWrapper')
    assert cfg.optim_wrapper.type == expected


def test_resume_with_a_path_sets_load_from():
    train = load_tool('train')
    args = train.parse_args([DIGITS_CFG, '--resume', 'a/epoch_2.pth'])
    cfg = train.merge_args(Config.fromfile(DIGITS_CFG), args)
    assert cfg.resume is True and cfg.load_from == 'a/epoch_2.pth'
    assert cfg.work_dir.endswith('smallconvnet_1xb64-20e_digits')


@pytest.mark.parametrize('cfg_file', [
    'configs/digits/smallconvnet_1xb64-20e_digits.py',
])
def test_shipped_configs_parse(cfg_file):
    cfg = Config.fromfile(osp.join(REPO_ROOT, cfg_file))
    assert cfg.default_scope == 'rgl'
