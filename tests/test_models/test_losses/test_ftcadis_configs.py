"""The FT-CADIS configs carry the paper's per-dataset settings."""
import glob

import pytest
from mmengine.config import Config

from conftest import REPO_ROOT

CONFIGS = sorted(glob.glob(f'{REPO_ROOT}/configs/denoised/ftcadis_*.py'))
PAPER = {  # M, T, λ, ε in [0, 1] (the reference's 64/256 in [-1, 1])
    'cifar10': (4, 4, 4.0, 0.125),
    'imagenet': (2, 1, 2.0, 0.125),
    'digits': (4, 4, 4.0, 0.125),  # the chain uses the CIFAR-10 recipe
}


@pytest.mark.parametrize('path', CONFIGS)
def test_paper_settings(path):
    cfg = Config.fromfile(path)
    dataset = next(d for d in PAPER if d in path)
    loss = cfg.model.train_loss
    assert loss.type == 'FTCADISLoss' and loss.warm_start
    assert (loss.num_noise, loss.num_steps, loss.lbd, loss.epsilon) == \
        PAPER[dataset]
    sigma = float(path.rsplit('sigma', 1)[1][:-3])
    assert loss.sigma == sigma == cfg.certify_cfg.sigma
    if dataset == 'imagenet':  # LoRA r = 4, α = 4 on the attention
        assert cfg.model.lora == dict(r=4, lora_alpha=4, lora_dropout=0.0,
                                      target_modules=['qkv'])
        # --layer_decay 0.9 --drop_path 0.0
        assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.9
        assert cfg.model.classifier.model_kwargs.drop_path_rate == 0.0
    elif dataset == 'cifar10':  # full fine-tuning
        assert cfg.model.lora is None
        # --layer_decay 0.65 --drop_path 0.2 (an attention-dropout ramp)
        assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.65
        assert cfg.model.attention_dropout_ramp == 0.2
    if dataset != 'digits':
        assert cfg.optim_wrapper.constructor == \
            'LayerDecayOptimWrapperConstructor'
        # the schedules keep per-layer lr scales and zero-decay groups
        cos, wd = cfg.param_scheduler[1], cfg.param_scheduler[2]
        assert cos.eta_min_ratio * cfg.optim_wrapper.optimizer.lr == \
            pytest.approx(1e-6)
        assert wd.param_name == 'weight_decay' and wd.eta_min_ratio == 10
    # certification goes through the same denoiser
    assert cfg.smoothing.denoiser == loss.denoiser
