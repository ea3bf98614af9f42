"""CLIP (open_clip), MAE (mmpretrain), CheckpointEncoder, grid matching."""
import pytest
import timm
import torch

from rgl.models.encoders import (CheckpointEncoder, CLIPEncoder, MAEEncoder,
                                 match_token_grid)
from rgl.registry import MODELS
from rgl.utils.errors import CheckpointError, ConfigError

CLIP_TINY = dict(width=32, layers=2, head_width=16, patch_size=4)
MAE_ARCH = dict(embed_dims=32, num_layers=2, num_heads=2,
                feedforward_channels=128)


def test_clip_full_model_state_dict(tmp_path):
    import open_clip
    from open_clip.model import _build_vision_tower
    cfg = open_clip.get_model_config('ViT-B-16')
    torch.manual_seed(0)
    ref = _build_vision_tower(cfg['embed_dim'],
                              dict(cfg['vision_cfg'], image_size=16,
                                   **CLIP_TINY)).eval()
    sd = {f'visual.{k}': v for k, v in ref.state_dict().items()}
    sd['token_embedding.weight'] = torch.randn(10, 8)  # text tower: ignored
    sd['logit_scale'] = torch.tensor(1.0)
    path = tmp_path / 'clip.pt'
    torch.save(sd, path)
    enc = CLIPEncoder('ViT-B-16', checkpoint=str(path), grid_size=4,
                      vision_cfg=CLIP_TINY)
    x = torch.rand(2, 3, 16, 16)
    xin = (x - enc.pixel_mean) / enc.pixel_std
    with torch.no_grad():  # ln_post-ed tokens without the class token
        tokens = ref.ln_post(ref.transformer(ref._embeds(xin)))[:, 1:]
    out = enc(x)
    assert out.shape == (2, 16, 32) and enc.embed_dim == 32
    torch.testing.assert_close(out, tokens, atol=1e-5, rtol=1e-5)
    # grid 6 resamples the 4 x 4 position embedding of the file
    assert CLIPEncoder('ViT-B-16', checkpoint=str(path), grid_size=6,
                       vision_cfg=CLIP_TINY)(x).shape == (2, 36, 32)


def _timm_mae_reference():
    torch.manual_seed(0)
    ref = timm.create_model('vit_base_patch16_224', pretrained=False,
                            num_classes=0, img_size=16, patch_size=4,
                            embed_dim=32, depth=2, num_heads=2).eval()
    for p in ref.parameters():
        p.data.normal_(0, 0.2)
    return ref


def test_mae_official_release_layout_matches_timm_vit(tmp_path):
    ref = _timm_mae_reference()
    sd = dict(ref.state_dict())
    sd['mask_token'] = torch.zeros(1, 1, 32)
    sd['decoder_embed.weight'] = torch.randn(16, 32)
    path = tmp_path / 'mae_pretrain_vit_tiny.pth'
    torch.save(dict(model=sd), path)
    enc = MAEEncoder(MAE_ARCH, patch_size=4, checkpoint=str(path),
                     grid_size=4)
    x = torch.rand(2, 3, 16, 16)
    xin = (x - enc.pixel_mean) / enc.pixel_std
    with torch.no_grad():
        expected = ref.forward_features(xin)[:, 1:]
    torch.testing.assert_close(enc(x), expected, atol=1e-4, rtol=1e-4)


def test_mae_mmpretrain_checkpoint_and_mismatch(tmp_path):
    vit = MODELS.build(dict(type='mmpretrain.MAEViT', arch=MAE_ARCH,
                            img_size=16, patch_size=4))
    path = tmp_path / 'mae_mmpretrain.pth'
    torch.save(dict(state_dict={f'backbone.{k}': v
                                for k, v in vit.state_dict().items()},
                    meta=dict(epoch=1)), path)
    enc = MAEEncoder(MAE_ARCH, patch_size=4, checkpoint=str(path),
                     grid_size=8, mean=None, std=None)
    assert enc(torch.rand(1, 1, 16, 16)).shape == (1, 64, 32)
    bigger = dict(MAE_ARCH, num_layers=3)
    with pytest.raises(CheckpointError, match='mae_mmpretrain.pth.*missing'):
        MAEEncoder(bigger, patch_size=4, checkpoint=str(path), grid_size=4)


def test_checkpoint_encoder_reads_tap(tmp_path):
    cfg = dict(type='ImageClassifier',
               backbone=dict(type='SmallConvNet', in_channels=1,
                             widths=(8, 16)),
               num_classes=10, mean=[0.5], std=[0.5])
    model = MODELS.build(cfg).eval()
    path = tmp_path / 'epoch_1.pth'
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    enc = CheckpointEncoder(dict(model=cfg), checkpoint=str(path),
                            tap='backbone', input_size=16, channels=1)
    x = torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        fmap = model.backbone(model.normalize(x))
    out = enc(x)
    assert enc.embed_dim == fmap.shape[1]
    assert out.shape == (2, fmap.shape[2] * fmap.shape[3], fmap.shape[1])
    torch.testing.assert_close(out, fmap.flatten(2).transpose(1, 2))
    with pytest.raises(ConfigError, match='nope'):
        CheckpointEncoder(dict(model=cfg), tap='nope', input_size=16,
                          channels=1)


def test_match_token_grid_average_and_errors():
    tokens = torch.arange(16.).view(1, 16, 1)  # 4 x 4 grid, row-major
    pooled = match_token_grid(tokens, 4)
    # 2 x 2 means of the blocks (0,1,4,5), (2,3,6,7), ...
    assert pooled.flatten().tolist() == [2.5, 4.5, 10.5, 12.5]
    assert match_token_grid(tokens, 16) is tokens
    with pytest.raises(ConfigError, match='square'):
        match_token_grid(tokens, 12)
