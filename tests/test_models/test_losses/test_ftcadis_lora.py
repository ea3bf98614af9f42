"""FT-CADIS's LoRA fine-tuning through peft: rank-4 adapters on the
attention of a timm ViT touch about 1% of its parameters (with the head),
and a saved adapter reloads."""
import pytest
import torch

import rgl.models.classifiers.finetuned  # noqa: F401  (registers it)
from rgl.registry import MODELS
from rgl.utils.errors import CheckpointError, ConfigError

VIT = dict(type='OffTheShelfClassifier', backend='timm',
           model='vit_tiny_patch16_224', num_classes=100,
           model_kwargs=dict(img_size=32))
LORA = dict(r=4, lora_alpha=4, target_modules=['qkv'])


def _build(**kw):
    torch.manual_seed(0)  # the same "pretrained" base weights every time
    return MODELS.build(dict(type='FineTunedClassifier', classifier=VIT,
                             **kw))


def test_lora_touches_about_one_percent():
    model = _build(lora=LORA)
    total = sum(p.numel() for p in model.parameters())
    trained = {n: p.numel() for n, p in model.named_parameters()
               if p.requires_grad}
    # 12 blocks × r (d_in + d_out) of qkv (192 -> 576), plus the head
    lora = 12 * 4 * (192 + 576)
    head = 192 * 100 + 100
    assert sum(trained.values()) == lora + head
    assert 0.008 < (lora + head) / total < 0.012
    assert all('lora_' in n or '.head.' in n for n in trained)
    # full fine-tuning: everything
    full = _build()
    assert all(p.requires_grad for p in full.parameters())


def test_saved_adapter_reloads(tmp_path):
    model = _build(lora=LORA)
    with torch.no_grad():  # a trained adapter: B is no longer zero
        for name, p in model.named_parameters():
            if p.requires_grad:
                p.add_(0.05 * torch.randn_like(p))
    x = torch.rand(2, 3, 32, 32)
    model.eval()
    want = model.logits(x)
    path = str(tmp_path / 'adapter.safetensors')
    model.save_adapter(path)
    fresh = _build(lora=LORA).eval()
    assert not torch.allclose(fresh.logits(x), want)
    reloaded = _build(lora=LORA, adapter=path).eval()
    torch.testing.assert_close(reloaded.logits(x), want)
    # an adapter of another rank does not fit
    other = _build(lora=dict(LORA, r=2))
    other.save_adapter(str(tmp_path / 'r2.safetensors'))
    with pytest.raises(CheckpointError, match='lora_A'):
        _build(lora=LORA, adapter=str(tmp_path / 'r2.safetensors'))


def test_bad_lora_configs_name_the_key():
    with pytest.raises(ConfigError, match='target_modules'):
        _build(lora=dict(LORA, target_modules=['no_such_layer']))
    with pytest.raises(ConfigError, match='trainable'):
        _build(lora=LORA, trainable=('no_head', ))
    with pytest.raises(ConfigError, match='adapter'):
        _build(adapter='x.safetensors')


def test_training_checkpoint_reloads_with_the_adapters():
    """What tools/train.py saves (mmengine's get_state_dict) loads strictly
    into the same config, LoRA layers included, as tools/certify.py does."""
    from mmengine.runner.checkpoint import get_state_dict
    model = _build(lora=LORA)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.05 * torch.randn_like(p))
    state = get_state_dict(model)
    assert any('lora_B' in k for k in state)
    fresh = _build(lora=LORA)
    fresh.load_state_dict(state, strict=True)
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(fresh.eval().logits(x),
                               model.eval().logits(x))


def test_state_dict_round_trip_inside_a_wrapper():
    """FineTunedClassifier.state_dict() reloads strictly into a fresh one
    (the wrapped OffTheShelfClassifier keeps its ``net.`` level when
    nested), and the wrapper alone still gives the library's layout."""
    model = _build()
    with torch.no_grad():
        model.classifier.net.head.bias.add_(1.0)
    state = model.state_dict()
    assert 'classifier.net.head.bias' in state
    fresh = _build()
    fresh.load_state_dict(state, strict=True)
    torch.testing.assert_close(fresh.classifier.net.head.bias,
                               model.classifier.net.head.bias)
    lib = model.classifier.state_dict()
    assert 'head.bias' in lib and not any(k.startswith('net.') for k in lib)
    fresh.classifier.load_state_dict(lib)  # the library layout loads too
