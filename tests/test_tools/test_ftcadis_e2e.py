"""FT-CADIS end to end: tools/train.py fine-tunes a digits classifier
through a (random-weight) rgl DDPM denoiser for a few iterations, and the
checkpoint certifies through the same denoiser with tools/certify.py."""
import pytest
import torch

from conftest import REPO_ROOT

CFG = (f'{REPO_ROOT}/configs/denoised/'
       'ftcadis_smallconvnet_digits-chain-sigma0.5.py')


@pytest.mark.slow
def test_ftcadis_train_then_certify(tool, tmp_path):
    from mmengine.config import Config

    from rgl.registry import MODELS
    cfg = Config.fromfile(CFG)
    torch.manual_seed(0)
    ddpm = MODELS.build(cfg.model.train_loss.denoiser.model)
    den_ckpt = tmp_path / 'ddpm.pth'
    torch.save({'state_dict': ddpm.state_dict()}, den_ckpt)
    # a tiny run: 1 epoch of 4 iterations (batch 360), 1 PGD step
    test_cfg = tmp_path / 'ftcadis_tiny.py'
    test_cfg.write_text(
        f"_base_ = ['{CFG}']\n"
        f"model = dict(train_loss=dict(num_steps=1, denoiser=dict("
        f"checkpoint='{den_ckpt}')))\n"
        f"smoothing = dict(denoiser=dict(checkpoint='{den_ckpt}'))\n"
        "load_from = None\n"
        "train_dataloader = dict(batch_size=360)\n"
        "train_cfg = dict(max_epochs=1, val_interval=1)\n")
    work = tmp_path / 'work'
    out = tool(['tools/train.py', str(test_cfg), '--work-dir', str(work)])
    assert out.returncode == 0, out.stderr[-3000:]
    log = '\n'.join(p.read_text() for p in work.rglob('*.log'))
    assert 'loss_sce' in log and 'loss_madv' in log
    state = torch.load(work / 'epoch_1.pth', map_location='cpu',
                       weights_only=False)['state_dict']
    assert not [k for k in state if 'denois' in k or 'train_loss' in k]

    tsv = tmp_path / 'ftcadis.tsv'
    out = tool(['tools/certify.py', str(test_cfg), str(work / 'epoch_1.pth'),
                '--n', '50', '--n0', '10', '--skip', '120', '--out',
                str(tsv)])
    assert out.returncode == 0, out.stderr[-3000:]
    assert len(tsv.read_text().splitlines()) == 1 + 3
