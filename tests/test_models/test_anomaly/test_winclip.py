import pytest
import torch

from rgl.registry import MODELS
from rgl.utils.errors import CheckpointError, DataError
from rgl.models.anomaly.windows import harmonic_aggregation
from winclip_helpers import TINY_CLIP_CFG, make_mvtec, save_tiny_clip

TEMPLATES = ('a photo of a {}.', )


def build(ckpt, **kw):
    cfg = dict(type='WinCLIP',
               clip=dict(model_name='tiny-test', model_cfg=TINY_CLIP_CFG,
                         checkpoint=str(ckpt)),
               prompt=dict(type='CompositionalPromptEnsemble',
                           templates=TEMPLATES))
    cfg.update(kw)
    return MODELS.build(cfg)


@pytest.fixture(scope='module')
def ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp('clip') / 'tiny_clip.pt'
    save_tiny_clip(path)
    return path


def test_weights_come_from_the_config_file(ckpt):
    model = build(ckpt)
    saved = torch.load(ckpt, weights_only=True)
    for k, v in model.clip.state_dict().items():
        torch.testing.assert_close(v, saved[k])


def test_bad_checkpoints(ckpt, tmp_path):
    with pytest.raises(CheckpointError, match='nope.pt'):
        build(tmp_path / 'nope.pt')
    bad = tmp_path / 'other.pt'
    torch.save({'visual.proj': torch.zeros(3)}, bad)
    with pytest.raises(CheckpointError, match='other.pt'):
        build(bad)


def test_any_size_maps_at_original_resolution(ckpt):
    model = build(ckpt, class_name='bottle')
    out = model(torch.rand(2, 3, 37, 91), mode='predict')
    assert out[0].anomaly_map.shape == (37, 91)
    assert 0 <= float(out[0].anomaly_score) <= 1
    torch.testing.assert_close(out[0].pred_score.sum(), torch.tensor(1.0))


def test_zero_shot_scores_follow_the_paper(ckpt):
    model = build(ckpt, class_name='bottle', temperature=0.07)
    x = torch.rand(2, 3, 64, 64)
    scores, maps = model(x, mode='tensor')
    feats = model.embed(x)
    t = model.text_prototypes('bottle')

    def s(f):  # two-way softmax of cosine / tau, anomalous entry
        logits = f @ t.t() / 0.07
        return logits.softmax(-1)[..., 1]
    img = s(feats['image'])
    torch.testing.assert_close(scores, img)
    per_scale = [harmonic_aggregation(s(feats['windows'][k]),
                                      model.embedder.coverage(k))
                 for k in (2, 3)]
    expected = 3 / (1 / per_scale[0] + 1 / per_scale[1] + 1 / img[:, None])
    torch.testing.assert_close(maps.flatten(1), expected)


def test_no_class_name_warns_object(ckpt):
    model = build(ckpt)
    with pytest.warns(UserWarning, match='"object"'):
        model(torch.rand(1, 3, 64, 64), mode='tensor')
    assert 'object' in model._text_cache


def test_few_shot_bank_and_errors(ckpt, tmp_path):
    root = make_mvtec(str(tmp_path / 'mvtec'), 'widget', n_train=2,
                      n_good=1, n_defect=1)
    ref = dict(dataset=dict(type='MVTecADDataset', data_root=root,
                            split='train'), seed=0)
    plus = build(ckpt, type='WinCLIPPlus', k_shot=4, reference=ref)
    from rgl.datasets.anomaly import MVTecADDataset
    test = MVTecADDataset(root, 'widget', split='test')
    batch = plus.data_preprocessor(dict(
        inputs=[test[0]['inputs']], data_samples=[test[0]['data_samples']]))
    with pytest.raises(DataError, match='k_shot=4 needs 4 normal'):
        plus(**batch, mode='predict')

    plus = build(ckpt, type='WinCLIPPlus', k_shot=2, reference=ref)
    zero = build(ckpt)
    train = MVTecADDataset(root, 'widget', split='train')
    sample = train[1]
    # a reference image matches its own bank entries: few-shot map is 0,
    # so the final map is half the zero-shot map
    batch = plus.data_preprocessor(dict(inputs=[sample['inputs']],
                                        data_samples=[sample['data_samples']]))
    out = plus(**batch, mode='predict')[0]
    amap, score = out.anomaly_map.clone(), out.anomaly_score.clone()
    assert set(plus.banks) == {'widget'}
    assert plus.banks['widget'].banks['patches'].shape == (2 * 16, 64)
    ref_out = zero(**batch, mode='predict')[0]
    torch.testing.assert_close(amap, ref_out.anomaly_map / 2,
                               atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(score,
                               ref_out.anomaly_score / 2, atol=1e-5,
                               rtol=1e-4)


def test_default_architecture_shapes():
    """ViT-B-16-plus-240: 240² input, 15x15 grid, 640-d embeddings,
    896-d patch tokens, 196 + 169 windows."""
    from rgl.models.anomaly import WindowEmbedder
    from rgl.models.anomaly.clip_loader import build_open_clip
    clip = build_open_clip('ViT-B-16-plus-240')
    emb = WindowEmbedder(clip.visual)
    assert emb.image_size == (240, 240) and emb.grid == (15, 15)
    feats = emb(torch.rand(1, 3, 240, 240))
    assert feats['image'].shape == (1, 640)
    assert feats['patches'].shape == (1, 225, 896)
    assert feats['windows'][2].shape == (1, 196, 640)
    assert feats['windows'][3].shape == (1, 169, 640)


def test_inference_wrapper_delegates(ckpt):
    from mmengine.model import is_model_wrapper
    from rgl.registry import MODEL_WRAPPERS
    from rgl.utils.errors import ConfigError
    model = build(ckpt, class_name='bottle')
    wrapped = MODEL_WRAPPERS.build(dict(type='InferenceModelWrapper'),
                                   default_args=dict(module=model))
    assert is_model_wrapper(wrapped) and wrapped.module is model
    data = dict(inputs=[torch.rand(3, 50, 40)])
    out = wrapped.test_step(data)
    assert out[0].anomaly_map.shape == (50, 40)
    with pytest.raises(ConfigError, match='evaluated only'):
        wrapped.train_step(data, None)
