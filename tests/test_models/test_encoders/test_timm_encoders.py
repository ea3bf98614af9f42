"""DINOv2 / MoCo v3 encoders: official key layouts load and reproduce timm."""
import re

import pytest
import timm
import torch

from rgl.models.encoders import DINOv2Encoder, MoCoV3Encoder
from rgl.utils.errors import CheckpointError, ConfigError

TINY = dict(embed_dim=32, depth=2, num_heads=2)


def _reference(name, img_size):
    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False, num_classes=0,
                              img_size=img_size, **TINY).eval()
    for p in model.parameters():  # LayerScale starts at 1e-5: make it count
        p.data.normal_(0, 0.2)
    return model


def _official_dinov2(model, registers):
    """timm weights in the torch.hub layout of facebookresearch/dinov2:
    ``register_tokens``, a ``mask_token``, and (with registers) a position
    embedding that also covers the class token."""
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    sd['mask_token'] = torch.zeros(1, TINY['embed_dim'])
    if registers:
        pos_cls = torch.randn(1, 1, TINY['embed_dim'])
        sd['register_tokens'] = sd.pop('reg_token')
        sd['cls_token'] = sd['cls_token'] - pos_cls
        sd['pos_embed'] = torch.cat([pos_cls, sd['pos_embed']], dim=1)
    return sd


def _expected(model, enc, x):
    xin = (x - enc.pixel_mean) / enc.pixel_std
    with torch.no_grad():
        return model.forward_features(xin)[:, model.num_prefix_tokens:]


@pytest.mark.parametrize('registers', [False, True])
def test_dinov2_official_layout_matches_timm(tmp_path, registers):
    name = f'vit_small_patch14_{"reg4_" if registers else ""}dinov2'
    ref = _reference(name, 56)  # 4 x 4 grid
    path = tmp_path / 'dinov2_hub.pth'
    torch.save(_official_dinov2(ref, registers), path)
    enc = DINOv2Encoder('vit_s', registers=registers, checkpoint=str(path),
                        grid_size=4, model_kwargs=TINY)
    x = torch.rand(2, 3, 56, 56)
    out = enc(x)
    assert out.shape == (2, 16, 32) and enc.embed_dim == 32
    torch.testing.assert_close(out, _expected(ref, enc, x), atol=1e-5,
                               rtol=1e-5)
    # frozen: no grad, eval even when a parent model trains
    assert not out.requires_grad
    enc.train()
    assert not enc.training and not any(p.requires_grad
                                        for p in enc.parameters())


def test_dinov2_grid_resampling_and_grey_input(tmp_path):
    ref = _reference('vit_small_patch14_dinov2', 56)
    path = tmp_path / 'timm_layout.pth'
    torch.save(ref.state_dict(), path)  # timm's own layout
    enc = DINOv2Encoder('vit_s', checkpoint=str(path), grid_size=6,
                        model_kwargs=TINY)
    assert enc.input_size == 84 and enc.model.pos_embed.shape[1] == 1 + 36
    grey = torch.rand(3, 1, 32, 32)  # resized to 84, repeated to RGB
    out = enc(grey)
    assert out.shape == (3, 36, 32)
    torch.testing.assert_close(out, enc(grey.expand(-1, 3, -1, -1)))
    as_uint8 = (grey * 255).round().to(torch.uint8)
    torch.testing.assert_close(enc(as_uint8), enc(as_uint8.float() / 255))


def test_dinov2_mismatched_checkpoint_names_file_and_keys(tmp_path):
    ref = timm.create_model('vit_small_patch14_dinov2', pretrained=False,
                            num_classes=0, img_size=56, embed_dim=32,
                            depth=3, num_heads=2)
    path = tmp_path / 'deeper.pth'
    torch.save(ref.state_dict(), path)
    with pytest.raises(CheckpointError) as err:
        DINOv2Encoder('vit_s', checkpoint=str(path), grid_size=4,
                      model_kwargs=TINY)
    assert 'deeper.pth' in str(err.value)
    assert 'unexpected' in str(err.value) and 'blocks.2' in str(
        err.value)

    wide = timm.create_model('vit_small_patch14_dinov2', pretrained=False,
                             num_classes=0, img_size=56, embed_dim=48,
                             depth=2, num_heads=2)
    torch.save(wide.state_dict(), path)
    with pytest.raises(CheckpointError, match='another shape'):
        DINOv2Encoder('vit_s', checkpoint=str(path), grid_size=4,
                      model_kwargs=TINY)


def test_bad_arch_and_grid():
    with pytest.raises(ConfigError, match='arch'):
        DINOv2Encoder('vit_x')
    with pytest.raises(ConfigError, match='disagree'):
        DINOv2Encoder('vit_s', grid_size=4, input_size=64, model_kwargs=TINY)


def test_mocov3_official_layout(tmp_path):
    ref = _reference('vit_small_patch16_224', 64)
    sd = {f'module.base_encoder.{k}': v for k, v in ref.state_dict().items()}
    sd.update({f'module.momentum_encoder.{k}': v
               for k, v in ref.state_dict().items()})
    sd['module.base_encoder.head.0.weight'] = torch.randn(8, 32)
    sd['module.predictor.0.weight'] = torch.randn(8, 8)
    path = tmp_path / 'vit-s-300ep.pth.tar'
    torch.save(dict(epoch=300, arch='vit_small', state_dict=sd), path)
    enc = MoCoV3Encoder('vit_s', checkpoint=str(path), grid_size=4,
                        model_kwargs=TINY)
    x = torch.rand(2, 3, 64, 64)
    torch.testing.assert_close(enc(x), _expected(ref, enc, x), atol=1e-5,
                               rtol=1e-5)


def test_dinov2_giant_swiglu_official_names(tmp_path):
    # ViT-g's official SwiGLU MLP is `mlp.w12` / `mlp.w3` (timm: fc1 / fc2)
    ref = _reference('vit_giant_patch14_dinov2', 28)
    sd = _official_dinov2(ref, registers=False)
    # ... and training checkpoints group blocks in chunks: blocks.<c>.<i>.
    sd = {re.sub(r'^blocks\.(\d+)\.', r'blocks.\1.\1.', k).replace(
        'mlp.fc1', 'mlp.w12').replace('mlp.fc2', 'mlp.w3'): v
          for k, v in sd.items()}
    assert 'blocks.1.1.mlp.w12.weight' in sd
    path = tmp_path / 'dinov2_vitg14_pretrain.pth'
    torch.save(sd, path)
    enc = DINOv2Encoder('vit_g', checkpoint=str(path), grid_size=2,
                        model_kwargs=TINY)
    x = torch.rand(1, 3, 28, 28)
    torch.testing.assert_close(enc(x), _expected(ref, enc, x), atol=1e-5,
                               rtol=1e-5)
