"""Denoised smoothing end to end through tools/certify.py (unchanged) on
CPU: an rgl DDPM denoiser + rgl classifier, and an ADM UNet in the
released key layout + an off-the-shelf timm classifier."""
import os.path as osp

import torch

from conftest import REPO_ROOT

DIGITS = osp.join(REPO_ROOT, 'configs/denoised/dds_smallconvnet_digits-'
                  'sigma0.5.py')
HEADER = 'idx\tlabel\tpredict\tradius\tcorrect\ttime'


def _rows(path):
    lines = open(path).read().splitlines()
    assert lines[0] == HEADER
    return [ln.split('\t') for ln in lines[1:]]


def _check(rows, expected_idx):
    assert [int(r[0]) for r in rows] == expected_idx
    for r in rows:
        assert int(r[4]) == int(r[1] == r[2])
        assert float(r[3]) >= 0 and (r[2] != '-1' or float(r[3]) == 0)


def test_rgl_ddpm_denoiser_through_certify(tool, tmp_path):
    from mmengine.config import Config

    from rgl.registry import MODELS
    cfg = Config.fromfile(DIGITS)
    torch.manual_seed(0)
    den = MODELS.build(cfg.denoiser_model)
    torch.save(dict(state_dict=den.state_dict()), tmp_path / 'ddpm.pth')
    clf = MODELS.build(cfg.model)
    torch.save(dict(state_dict=clf.state_dict()), tmp_path / 'clf.pth')
    child = tmp_path / 'dds.py'
    child.write_text(
        f'_base_ = [{DIGITS!r}]\n'
        f"smoothing = dict(denoiser=dict(checkpoint="
        f"{str(tmp_path / 'ddpm.pth')!r}))\n")
    out_tsv = tmp_path / 'dds.tsv'
    cmd = ['tools/certify.py', str(child), str(tmp_path / 'clf.pth'),
           '--n0', '10', '--n', '60', '--batch', '40', '--skip', '90',
           '--out', str(out_tsv)]
    out = tool(cmd)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = _rows(out_tsv)
    _check(rows, [0, 90, 180, 270])
    # a σ beyond the denoiser's schedule: one clear error naming the key
    import pytest

    from rgl.utils.errors import ConfigError
    with pytest.raises(ConfigError, match='sigma.*outside \\[0, 1000\\)'):
        _certify_main(cmd[1:-2] + ['--sigma', '500', '--out',
                                   str(tmp_path / 'bad.tsv')])


def _certify_main(argv):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'rgl_tool_certify_dds', osp.join(REPO_ROOT, 'tools', 'certify.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(argv)


def test_adm_denoiser_and_timm_classifier_through_certify(tool, tmp_path):
    import timm
    from rgl.models.denoisers import ADMUNet
    unet_cfg = dict(type='ADMUNet', image_size=16, in_channels=1,
                    model_channels=32, num_res_blocks=1,
                    attention_resolutions='8', channel_mult=(1, 2),
                    num_heads=2, learn_sigma=True,
                    use_scale_shift_norm=True)
    torch.manual_seed(0)
    unet = ADMUNet(**{k: v for k, v in unet_cfg.items() if k != 'type'})
    # a plain state dict in the official key layout, like the releases
    torch.save(unet.state_dict(), tmp_path / 'adm.pt')
    vit = dict(depth=1, embed_dim=32, num_heads=2, img_size=32, in_chans=1)
    net = timm.create_model('vit_base_patch16_224', pretrained=False,
                            num_classes=10, **vit)
    torch.save(net.state_dict(), tmp_path / 'vit.pth')  # timm's layout
    child = tmp_path / 'dds_adm.py'
    child.write_text(
        f'_base_ = [{DIGITS!r}]\n'
        "model = dict(_delete_=True, type='OffTheShelfClassifier', "
        "backend='timm', model='vit_base_patch16_224', num_classes=10, "
        f"model_kwargs={vit!r}, mean=[0.5], std=[0.5], resize='bicubic')\n"
        "smoothing = dict(denoiser=dict(_delete_=True, type='ADMDenoiser', "
        f"unet={unet_cfg!r}, checkpoint={str(tmp_path / 'adm.pt')!r}, "
        "num_timesteps=1000, noise_schedule='linear'))\n")
    out_tsv = tmp_path / 'adm.tsv'
    out = tool(['tools/certify.py', str(child), str(tmp_path / 'vit.pth'),
                '--n0', '10', '--n', '40', '--batch', '50', '--skip', '120',
                '--out', str(out_tsv)])
    assert out.returncode == 0, out.stderr[-3000:]
    _check(_rows(out_tsv), [0, 120, 240])
    assert 'ACR' in out.stdout
