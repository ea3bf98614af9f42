"""MDDS diffusion fine-tuning through tools/train.py on CPU, and the
fine-tuned weights back into a denoiser."""
import os.path as osp

import torch

from conftest import REPO_ROOT

CFG = osp.join(REPO_ROOT,
               'configs/denoised/dds_mdds-finetune_ddpm-dit-tiny_digits.py')


def test_finetune_two_iterations(tool, tmp_path):
    from mmengine.config import Config

    from rgl.models.denoisers import DDPMDenoiser
    from rgl.registry import MODELS
    cfg = Config.fromfile(CFG)
    torch.manual_seed(0)
    ddpm = MODELS.build(cfg.denoiser_model)
    torch.save(dict(state_dict=ddpm.state_dict()), tmp_path / 'ddpm.pth')
    clf = MODELS.build(cfg.model.classifier)
    torch.save(dict(state_dict=clf.state_dict()), tmp_path / 'clf.pth')
    work = tmp_path / 'work'
    out = tool(['tools/train.py', CFG, '--work-dir', str(work),
                '--cfg-options', 'max_iters=2', 'train_cfg.max_iters=2',
                'default_hooks.checkpoint.interval=2',
                'default_hooks.logger.interval=1',
                'train_dataloader.batch_size=4', 'model.num_noises=2',
                f'model.denoiser.checkpoint={tmp_path / "ddpm.pth"}',
                f'model.classifier_checkpoint={tmp_path / "clf.pth"}'])
    assert out.returncode == 0, out.stderr[-3000:]
    log = open(next(work.rglob('*.log'))).read()
    assert 'loss_brier' in log and 'loss_anti_consistency' in log
    den = DDPMDenoiser(model=cfg.denoiser_model,
                       checkpoint=str(work / 'iter_2.pth'),
                       checkpoint_prefix='denoiser.model.')
    changed = any(not torch.equal(den.model.state_dict()[k], v)
                  for k, v in ddpm.state_dict().items())
    assert changed  # the two steps moved the denoiser
    x = torch.rand(2, 1, 16, 16)
    assert den.denoise(x, 0.5).shape == x.shape
