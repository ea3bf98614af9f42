import importlib.util
import inspect

import pytest
from mmengine.config import Config

from rgl.models.rewards.finetune import DiffusionPolicy
from rgl.utils.errors import CheckpointError

CONFIGS = ['finetune_pg_sd21_textnorm', 'finetune_sft_sd21_textnorm',
           'best-of-n_sd21_textnorm']


@pytest.mark.parametrize('name', CONFIGS)
def test_sd21_configs(name):
    cfg = Config.fromfile(f'configs/textnorm/{name}.py')
    assert cfg.method == {'finetune_pg_sd21_textnorm': 'pg',
                          'finetune_sft_sd21_textnorm': 'sft',
                          'best-of-n_sd21_textnorm': 'best_of_n'}[name]
    assert cfg.pipeline.endswith('stable-diffusion-2-1-base')
    params = inspect.signature(DiffusionPolicy).parameters
    assert set(cfg.policy) <= set(params)
    assert cfg.policy.resolution == 512 and cfg.policy.num_steps == 50
    assert cfg.reward.type == 'TextNormReward'
    assert [m['type'] for m in cfg.reward.reward_models] == [
        'CLIPScore', 'PickScore']
    assert cfg.reward.ensemble == 'ur' and cfg.reward.tau == 1 / 3


def test_missing_pipeline_folder_names_it(tmp_path):
    spec = importlib.util.spec_from_file_location(
        'textnorm_finetune', 'tools/textnorm/finetune.py')
    finetune = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(finetune)
    missing = str(tmp_path / 'sd21')
    with pytest.raises(CheckpointError, match='sd21.*model_index.json'):
        finetune.main(['configs/textnorm/finetune_pg_sd21_textnorm.py',
                       '--work-dir', str(tmp_path / 'w'), '--pipeline',
                       missing])
