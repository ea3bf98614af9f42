"""Latents versus pixels is the dataset's declaration, never a guess from the
batch's keys: a latent batch without `images` is trained on as latents (not
mapped x -> 2x - 1, not encoded again), and ambiguous batches are refused."""
import json

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmpretrain.structures import DataSample
from torch import nn

from rgl.datasets.latents import shard_name, write_shard
from rgl.registry import DATASETS, MODELS
from rgl.utils.errors import ConfigError, DataError

TINY = dict(depth=2, hidden_size=32, num_heads=4, patch_size=2)
S = 0.18215


class CountingVAE(nn.Module):
    """Latents 4 x 4 x 4 of 1 x 8 x 8 images; counts its encode calls."""
    calls = 0

    def encode(self, x):
        CountingVAE.calls += 1
        return nn.functional.avg_pool2d(x, 2).repeat(1, 4, 1, 1)

    def decode(self, z):
        return nn.functional.interpolate(z[:, :1], scale_factor=2)


class TokenEncoder(nn.Module):
    embed_dim = 8

    def __init__(self):
        super().__init__()
        self.proj = nn.Conv2d(3, 8, 8, 8)  # 16x16 images: 2x2 tokens

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


def latent_folder(root, n=4, images=False):
    """A tools/extract_latents.py folder without stored crops and without
    its source image folder."""
    torch.manual_seed(0)
    moments = torch.cat([torch.randn(n, 4, 4, 4) / S,
                         torch.full((n, 4, 4, 4), 0.5)], 1)
    shard = dict(moments=moments, labels=torch.arange(n) % 3,
                 indices=torch.arange(n))
    if images:
        shard['images'] = torch.randint(0, 256, (n, 3, 16, 16),
                                        dtype=torch.uint8)
    write_shard(root / shard_name(0), shard)
    (root / 'index.json').write_text(json.dumps(dict(
        shard_size=n, counts=[n], num_images=n, flip=False, images=images,
        features=[], scaling_factor=S, resolution=16,
        data_root=str(root / 'gone'))))


def flow(**kwargs):
    return MODELS.build(dict(
        type='FlowMatching',
        backbone=dict(type='SiT', arch=TINY, input_size=4, in_channels=4,
                      num_classes=3), label_dropout=0.0, **kwargs))


def test_latent_batch_without_images_is_trained_as_latents(tmp_path):
    latent_folder(tmp_path)
    ds = DATASETS.build(dict(type='LatentDataset', data_root=str(tmp_path),
                             sample_posterior=False))
    assert ds.metainfo['input_space'] == 'latent' and not ds.with_images
    raw = pseudo_collate([ds[i] for i in range(4)])
    assert 'images' not in raw
    for vae in (None, CountingVAE()):
        model = flow(vae=vae)
        data = model.data_preprocessor(raw, True)
        assert data['input_space'] == 'latent'
        z = torch.stack([ds[i]['inputs'] for i in range(4)])
        torch.testing.assert_close(data['inputs'], z)
        CountingVAE.calls = 0
        torch.manual_seed(0)
        loss = model(**data, mode='loss')['loss_denoise']
        assert CountingVAE.calls == 0  # not encoded a second time
        torch.manual_seed(0)  # the same draws: t, then eps
        torch.rand(4)
        eps = torch.randn_like(z)
        # the zero-initialised SiT predicts v = 0: L = E|eps - z|^2 on z,
        # not on 2z - 1 (the old silent pixel mapping)
        ref = ((eps - z)**2).mean()
        torch.testing.assert_close(loss, ref)
        wrong = ((eps - (2 * z - 1))**2).mean()
        assert abs(wrong - ref) > 0.5


def test_latents_with_images_feed_the_encoders(tmp_path):
    latent_folder(tmp_path, images=True)
    ds = DATASETS.build(dict(type='LatentDataset', data_root=str(tmp_path),
                             with_images=True))
    model = flow(aligners=dict(type='REPAAligner', encoders=[TokenEncoder()],
                               depth=1, projector_dim=16))
    data = model.data_preprocessor(
        pseudo_collate([ds[i] for i in range(4)]), True)
    assert data['images'].shape == (4, 3, 16, 16)
    assert set(model(**data, mode='loss')) == {'loss_denoise', 'loss_repa',
                                               'repa_cos'}


def test_latents_without_encoder_targets_are_refused(tmp_path):
    latent_folder(tmp_path)
    ds = DATASETS.build(dict(type='LatentDataset', data_root=str(tmp_path)))
    model = flow(aligners=dict(type='REPAAligner', encoders=[TokenEncoder()],
                               depth=1, projector_dim=16))
    data = model.data_preprocessor(
        pseudo_collate([ds[i] for i in range(4)]), True)
    with pytest.raises(DataError, match='latents without `images`'):
        model(**data, mode='loss')


def test_undeclared_latents_are_not_taken_for_images():
    model = flow()
    raw = dict(inputs=[torch.randn(4, 4, 4) for _ in range(2)],
               data_samples=[DataSample().set_gt_label(0)] * 2)
    data = model.data_preprocessor(raw, True)
    assert data['input_space'] == 'pixel'
    with pytest.raises(DataError, match="input_space='latent'"):
        model(**data, mode='loss')
    # the config may declare what the dataset does not
    model = flow(data_preprocessor=dict(type='GenerativeDataPreprocessor',
                                        input_space='latent'))
    data = model.data_preprocessor(raw, True)
    assert torch.isfinite(model(**data, mode='loss')['loss_denoise'])


def test_ambiguous_declarations_are_refused():
    model = flow()
    mixed = dict(inputs=[torch.rand(4, 4, 4) for _ in range(2)],
                 data_samples=[
                     DataSample(metainfo=dict(input_space='latent')),
                     DataSample()
                 ])
    mixed['data_samples'][1].set_metainfo(dict(input_space='pixel'))
    with pytest.raises(DataError, match='mixes'):
        model.data_preprocessor(mixed, True)
    model = flow(data_preprocessor=dict(type='GenerativeDataPreprocessor',
                                        input_space='pixel'))
    latent = dict(inputs=[torch.rand(4, 4, 4)],
                  data_samples=[DataSample(metainfo=dict(
                      input_space='latent'))])
    with pytest.raises(ConfigError, match='declares its items'):
        model.data_preprocessor(latent, True)
    with pytest.raises(ConfigError, match='input_space'):
        flow(data_preprocessor=dict(type='GenerativeDataPreprocessor',
                                    input_space='latents'))
    uint8 = dict(inputs=[torch.zeros(4, 4, 4, dtype=torch.uint8)],
                 data_samples=latent['data_samples'])
    with pytest.raises(DataError, match='not float'):
        flow().data_preprocessor(uint8, True)


def test_wrong_input_shape_is_one_error():
    model = flow()
    data = model.data_preprocessor(
        dict(inputs=[torch.rand(3, 4, 4)],
             data_samples=[DataSample().set_gt_label(0)]), True)
    with pytest.raises(DataError, match=r'\(3, 4, 4\).*\(4, 4, 4\)'):
        model(**data, mode='loss')
