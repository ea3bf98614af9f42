"""OffTheShelfClassifier: timm, open_clip zero-shot and mmpretrain nets
behind ``logits(x)`` on [0, 1] images, with their own preprocessing."""
import pytest
import torch
import torch.nn.functional as F

from rgl.models.classifiers.off_the_shelf import check_denoiser_classifier
from rgl.registry import MODELS
from rgl.utils.errors import CheckpointError, ConfigError, DataError

TINY_VIT = dict(depth=1, embed_dim=32, num_heads=2, img_size=32)


def timm_cfg(name='beit_large_patch16_512', **kw):
    return dict(type='OffTheShelfClassifier', backend='timm', model=name,
                num_classes=10, model_kwargs=TINY_VIT, **kw)


@pytest.mark.parametrize('name', ['beit_large_patch16_512',
                                  'vit_base_patch16_224'])
def test_timm_from_a_local_file_with_its_preprocessing(tmp_path, name):
    import timm
    torch.manual_seed(0)
    net = timm.create_model(name, pretrained=False, num_classes=10,
                            **TINY_VIT).eval()
    path = tmp_path / 'timm.pth'
    torch.save(net.state_dict(), path)  # the library's own key layout
    clf = MODELS.build(timm_cfg(name, checkpoint=str(path)))
    assert clf.input_size == 32 and clf.num_classes == 10
    x = torch.rand(2, 3, 16, 16)
    up = F.interpolate(x, size=(32, 32), mode='bicubic', align_corners=False,
                       antialias=True)
    cfg = net.pretrained_cfg  # BEiT: mean = std = 0.5; ViT: 0.5 as well
    mean = torch.tensor(cfg['mean']).view(1, 3, 1, 1)
    std = torch.tensor(cfg['std']).view(1, 3, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(clf.logits(x), net((up - mean) / std))
    # the wrapper's state dict is the library's layout: certify.py checks
    # and loads the released file into it as it is
    fresh = MODELS.build(timm_cfg(name))
    assert list(fresh.state_dict()) == list(net.state_dict())
    result = fresh.load_state_dict(torch.load(path), strict=False)
    assert not result.missing_keys and not result.unexpected_keys
    with torch.no_grad():
        torch.testing.assert_close(fresh.logits(x), clf.logits(x))


def test_timm_strict_and_resize_errors(tmp_path):
    import timm
    net = timm.create_model('vit_base_patch16_224', pretrained=False,
                            num_classes=10, **dict(TINY_VIT, depth=2))
    path = tmp_path / 'deeper.pth'
    torch.save(net.state_dict(), path)
    with pytest.raises(CheckpointError, match='blocks.1'):
        MODELS.build(timm_cfg('vit_base_patch16_224', checkpoint=str(path)))
    clf = MODELS.build(timm_cfg('vit_base_patch16_224', resize=None))
    with pytest.raises(DataError, match='model.resize'):
        clf.logits(torch.rand(1, 3, 16, 16))
    with pytest.raises(ConfigError, match='backend'):
        MODELS.build(dict(type='OffTheShelfClassifier', backend='keras',
                          model='x'))


def test_open_clip_zero_shot_head(tmp_path):
    import open_clip
    kw = dict(embed_dim=32,
              vision_cfg=dict(image_size=32, layers=1, width=64,
                              patch_size=16, head_width=32),
              text_cfg=dict(context_length=77, vocab_size=49408, width=64,
                            heads=2, layers=1))
    names = ['cat', 'dog', 'ship']
    templates = ['a photo of a {}.', 'a drawing of a {}.']
    cfg = dict(type='OffTheShelfClassifier', backend='open_clip',
               model='ViT-B-16', class_names=names, templates=templates)
    # a tiny architecture registered in open_clip's own config table
    import copy
    from open_clip import factory
    arch = copy.deepcopy(factory._MODEL_CONFIGS['ViT-B-16'])
    factory._MODEL_CONFIGS['tiny-clip-test'] = kw
    try:
        cfg['model'] = 'tiny-clip-test'
        torch.manual_seed(0)
        ref = open_clip.create_model('tiny-clip-test').eval()
        path = tmp_path / 'clip.pt'
        torch.save(ref.state_dict(), path)
        clf = MODELS.build(dict(cfg, checkpoint=str(path)))
        x = torch.rand(2, 3, 32, 32)
        tok = open_clip.get_tokenizer('tiny-clip-test')
        with torch.no_grad():
            text = ref.encode_text(tok([t.format(c) for c in names
                                        for t in templates]),
                                   normalize=True).view(3, 2, -1).mean(1)
            text = F.normalize(text, dim=-1)
            mean = torch.tensor(open_clip.constants.OPENAI_DATASET_MEAN)
            std = torch.tensor(open_clip.constants.OPENAI_DATASET_STD)
            img = ref.encode_image((x - mean.view(1, 3, 1, 1)) /
                                   std.view(1, 3, 1, 1), normalize=True)
            want = ref.logit_scale.exp() * img @ text.t()
            torch.testing.assert_close(clf.logits(x), want, atol=1e-5,
                                       rtol=1e-4)
            # the head follows the weights
            clf.net.logit_scale.fill_(0.0)
            torch.testing.assert_close(clf.logits(x), img @ text.t(),
                                       atol=1e-5, rtol=1e-4)
        assert factory._MODEL_CONFIGS['ViT-B-16'] == arch
    finally:
        factory._MODEL_CONFIGS.pop('tiny-clip-test')
    with pytest.raises(ConfigError, match='class_names'):
        MODELS.build(dict(cfg, model='ViT-B-16', class_names=None))


def test_mmpretrain_classifier():
    cfg = dict(type='OffTheShelfClassifier', backend='mmpretrain',
               input_size=32,
               model=dict(type='ImageClassifier',
                          backbone=dict(type='ResNet', depth=18,
                                        stem_channels=8, base_channels=8),
                          neck=dict(type='GlobalAveragePooling'),
                          head=dict(type='LinearClsHead', num_classes=10,
                                    in_channels=64),
                          data_preprocessor=dict(mean=[127.5] * 3,
                                                 std=[127.5] * 3)))
    clf = MODELS.build(cfg)
    assert clf.num_classes == 10
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        want = clf.net(x * 2 - 1, mode='tensor')
        torch.testing.assert_close(clf.logits(x), want)


def test_denoiser_and_classifier_must_agree():
    from rgl.models.denoisers import ADMDenoiser
    den = ADMDenoiser(unet=dict(type='ADMUNet', image_size=8,
                                model_channels=32, num_res_blocks=1,
                                attention_resolutions=(4, ),
                                channel_mult=(1, 2)))
    clf = MODELS.build(timm_cfg('vit_base_patch16_224', resize=None))
    with pytest.raises(ConfigError, match='model.resize'):
        check_denoiser_classifier(den, clf)
    clf.resize = 'bicubic'
    check_denoiser_classifier(den, clf)
    den.output_range = (-1.0, 1.0)
    with pytest.raises(ConfigError, match='input_range'):
        check_denoiser_classifier(den, clf)


def test_transformers_classifier_from_a_saved_folder(tmp_path):
    from transformers import ViTConfig, ViTForImageClassification
    torch.manual_seed(0)
    net = ViTForImageClassification(ViTConfig(
        image_size=32, patch_size=16, hidden_size=32, num_hidden_layers=1,
        num_attention_heads=2, intermediate_size=64, num_labels=10)).eval()
    net.save_pretrained(tmp_path)
    clf = MODELS.build(dict(type='OffTheShelfClassifier',
                            backend='transformers', model=str(tmp_path)))
    assert clf.num_classes == 10 and clf.input_size == 32
    x = torch.rand(2, 3, 8, 8)
    up = F.interpolate(x, size=(32, 32), mode='bicubic', align_corners=False,
                       antialias=True)
    with torch.no_grad():  # ViTImageProcessor's default mean = std = 0.5
        want = net(pixel_values=up * 2 - 1).logits
        torch.testing.assert_close(clf.logits(x), want)
