"""The MDDS configs carry the paper's cascade and certification settings,
and their cascade builds (the classifier and denoiser weights are local
files, not needed to check the settings)."""
import glob

import pytest
from mmengine.config import Config

from conftest import REPO_ROOT
from rgl.models.smoothing.cascade import check_cascade_args

# the cascades (mdds_clip-b16-ft_* fine-tune the cascade's classifier)
CONFIGS = sorted(
    p for p in glob.glob(f'{REPO_ROOT}/configs/denoised/mdds_*.py')
    if '-ft_' not in p)


def test_there_are_cifar_imagenet_and_digits_configs():
    names = ' '.join(CONFIGS)
    assert 'cifar10' in names and 'imagenet' in names and 'digits' in names


@pytest.mark.parametrize('path', CONFIGS)
def test_paper_cascade_settings(path):
    cfg = Config.fromfile(path)
    assert cfg.cascade.sigmas == [1.0, 0.5, 0.25]
    assert cfg.cascade.skip_p == 0.5 and cfg.cascade.unif_w == 0.1
    check_cascade_args(cfg.cascade.sigmas, cfg.cascade.skip_p)
    assert cfg.certify_cfg.n0 == 100 and cfg.certify_cfg.alpha == 0.001
    # the reference's N = 10k (the digits chain is CPU-sized)
    assert cfg.certify_cfg.n == (500 if 'digits' in path else 10_000)
    assert cfg.smoothing.denoiser.type in ('ADMDenoiser', 'DDPMDenoiser')
