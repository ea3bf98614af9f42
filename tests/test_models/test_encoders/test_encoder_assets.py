"""Encoders find rgl's shipped assets and configs from any folder."""
import os.path as osp

import torch
from mmengine.config import Config

from conftest import REPO_ROOT
from rgl.registry import MODELS

CFG = osp.join(REPO_ROOT,
               'configs/repa/encoders/mae_vit-tiny-p4_digits_encoder.py')


def _state(encoder):
    return {k: v.clone() for k, v in encoder.state_dict().items()}


def test_shipped_encoder_from_another_folder(tmp_path, monkeypatch):
    cfg = Config.fromfile(CFG).encoder
    assert cfg['checkpoint'].startswith('assets/')
    absolute = MODELS.build(
        dict(cfg, checkpoint=osp.join(REPO_ROOT, cfg['checkpoint'])))
    monkeypatch.chdir(tmp_path)
    relative = MODELS.build(cfg)  # the config's own relative path
    ref = _state(absolute)
    assert all(torch.equal(v, ref[k]) for k, v in _state(relative).items())

    # a file of the user's at that relative path wins over the shipped one
    mine = MODELS.build(dict(cfg, checkpoint=None))
    with torch.no_grad():
        for p in mine.parameters():
            p.add_(1.0)
    (tmp_path / 'assets' / 'encoders').mkdir(parents=True)
    torch.save(mine.vit.state_dict(), tmp_path / cfg['checkpoint'])
    loaded = MODELS.build(cfg)
    key = 'patch_embed.projection.weight'
    weight = loaded.vit.state_dict()[key]
    assert torch.equal(weight, mine.vit.state_dict()[key])
    assert not torch.equal(weight, absolute.vit.state_dict()[key])


def test_checkpoint_encoder_config_from_another_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    enc = MODELS.build(
        dict(type='CheckpointEncoder',
             config='configs/digits/smallconvnet_1xb64-20e_digits.py',
             tap='backbone.stages.0', input_size=16, patch_size=2,
             channels=1))
    assert type(enc.model.backbone).__name__ == 'SmallConvNet'
    assert enc(torch.rand(2, 1, 16, 16)).shape == (2, 64, 32)
