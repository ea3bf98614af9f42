"""FT-CADIS's layer-wise lr decay through mmpretrain's constructor, on a
(LoRA-wrapped) timm ViT and a transformers ViT, against the reference's
``param_groups_lrd`` numbering, and the reference's attention-dropout ramp
(its ``--drop_path`` on the transformers ViT)."""
import pytest
import torch

import rgl.models.classifiers.finetuned  # noqa: F401  (registers both)
from rgl.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from rgl.utils.errors import ConfigError

VIT = dict(type='OffTheShelfClassifier', backend='timm',
           model='vit_tiny_patch16_224', num_classes=10,
           model_kwargs=dict(img_size=32, depth=3))
LORA = dict(r=4, lora_alpha=4, target_modules=['qkv'])


def _optimizer(model, rate, keys=('.cls_token', '.pos_embed')):
    build = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type='LayerDecayOptimWrapperConstructor',
        optim_wrapper_cfg=dict(type='OptimWrapper', optimizer=dict(
            type='AdamW', lr=1e-3, weight_decay=0.05)),
        paramwise_cfg=dict(layer_decay_rate=rate, flat_decay_mult=0.0,
                           custom_keys={k: dict(decay_mult=0.0)
                                        for k in keys})))
    groups = build(model).optimizer.param_groups
    return {g['param_name']: g for g in groups}


def _reference_layer(name, depth):
    """FT-CADIS's get_layer_id_for_vit_timm, on our parameter names."""
    short = name.split('classifier.net.', 1)[1]
    if short in ('cls_token', 'pos_embed') or short.startswith(
            'patch_embed'):
        return 0
    if short.startswith('blocks.'):
        return int(short.split('.')[1]) + 1
    return depth + 1


@pytest.mark.parametrize('lora', [None, LORA])
def test_lr_scales_and_weight_decay_follow_the_reference(lora):
    torch.manual_seed(0)
    model = MODELS.build(dict(type='FineTunedClassifier', classifier=VIT,
                              lora=lora))
    rate, depth = 0.9, 3
    groups = _optimizer(model, rate)
    trained = [n for n, p in model.named_parameters() if p.requires_grad]
    assert sorted(groups) == sorted(trained)
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        g = groups[name]
        # the reference: lr_scale = rate^(num_layers - layer_id), with
        # num_layers = depth + 1
        want = rate**(depth + 1 - _reference_layer(name, depth))
        assert g['lr'] == pytest.approx(1e-3 * want), name
        # no decay on 1-D parameters, cls_token and pos_embed
        no_decay = p.ndim == 1 or name.endswith(('cls_token', 'pos_embed'))
        assert g['weight_decay'] == (0.0 if no_decay else 0.05), name
    if lora is not None:  # the adapters of block 0 and the head
        a0 = 'classifier.net.blocks.0.attn.qkv.lora_A.default.weight'
        assert groups[a0]['lr'] == pytest.approx(1e-3 * rate**3)
        assert groups['classifier.net.head.weight']['lr'] == 1e-3


def _hf_vit(tmp_path):
    from transformers import ViTConfig, ViTForImageClassification
    cfg = ViTConfig(hidden_size=32, num_hidden_layers=4,
                    num_attention_heads=2, intermediate_size=64,
                    image_size=32, patch_size=8, num_labels=10)
    ViTForImageClassification(cfg).save_pretrained(tmp_path / 'vit')
    return dict(type='OffTheShelfClassifier', backend='transformers',
                model=str(tmp_path / 'vit'))


def test_transformers_vit_ramp_and_layer_ids(tmp_path):
    model = MODELS.build(dict(type='FineTunedClassifier',
                              classifier=_hf_vit(tmp_path),
                              attention_dropout_ramp=0.2))
    vit = model.classifier.net.vit
    ps = [layer.attention.attention_dropout for layer in vit.layers] \
        if hasattr(vit, 'layers') else [  # transformers 4
            layer.attention.attention.dropout.p
            for layer in vit.encoder.layer]
    assert ps == pytest.approx([0.0, 0.2 / 3, 0.4 / 3, 0.2])
    depth = model.get_layer_depth
    assert depth('classifier.net.vit.embeddings.cls_token') == (0, 6)
    assert depth('classifier.net.vit.embeddings.patch_embeddings.'
                 'projection.weight') == (0, 6)
    block = next(n for n, _ in model.named_parameters()
                 if '.2.' in n and n.endswith('weight'))
    assert depth(block) == (3, 6)
    assert depth('classifier.net.classifier.weight') == (5, 6)
    groups = _optimizer(model, 0.65, keys=('.cls_token',
                                           '.position_embeddings'))
    pos = groups['classifier.net.vit.embeddings.position_embeddings']
    assert pos['weight_decay'] == 0.0
    assert pos['lr'] == pytest.approx(1e-3 * 0.65**5)


def test_bad_configs_name_the_key():
    with pytest.raises(ConfigError, match='attention_dropout_ramp'):
        MODELS.build(dict(type='FineTunedClassifier', classifier=VIT,
                          attention_dropout_ramp=0.2))  # timm: no such
    conv = MODELS.build(dict(
        type='FineTunedClassifier', classifier=dict(
            type='ImageClassifier', num_classes=10,
            backbone=dict(type='SmallConvNet', in_channels=1,
                          widths=(8, 8)))))
    with pytest.raises(ConfigError, match='layer_decay_rate'):
        _optimizer(conv, 0.9)
    with pytest.raises(ConfigError, match='get_layer_depth'):
        _optimizer(torch.nn.Linear(2, 2), 0.9)
