"""LatentDataset: posterior sampling, flips, features, shard errors."""
import json

import pytest
import torch

from rgl.datasets.latents import shard_name, write_shard
from rgl.registry import DATASETS
from rgl.utils.errors import ConfigError, DataError

S = 0.18215


def _folder(tmp_path, n=5, shard_size=3):
    torch.manual_seed(0)
    mean, std = torch.randn(n, 4, 2, 2), torch.rand(n, 4, 2, 2) + 0.5
    counts = []
    for i, start in enumerate(range(0, n, shard_size)):
        sl = slice(start, start + shard_size)
        m = torch.cat([mean[sl], std[sl]], 1)
        write_shard(tmp_path / shard_name(i), {
            'moments': m, 'moments_flip': m.flip(-1),
            'labels': torch.arange(n)[sl] % 2,
            'indices': torch.arange(n)[sl],
            'images': torch.arange(n)[sl].view(-1, 1, 1, 1).expand(
                -1, 3, 8, 8).to(torch.uint8),
            'features.enc': torch.randn(len(m), 4, 3).half(),
            'features_flip.enc': torch.randn(len(m), 4, 3).half()})
        counts.append(len(m))
    (tmp_path / 'index.json').write_text(json.dumps(dict(
        shard_size=shard_size, counts=counts, flip=True, images=True,
        features=['enc'], scaling_factor=S, classes=['a', 'b'])))
    return mean, std


def test_items_and_posterior_sampling(tmp_path):
    mean, std = _folder(tmp_path)
    ds = DATASETS.build(dict(type='LatentDataset', data_root=str(tmp_path),
                             features=['enc']))
    assert len(ds) == 5 and ds.metainfo['classes'] == ('a', 'b')
    item = ds[4]  # second shard, row 1
    assert item['inputs'].shape == (4, 2, 2)
    assert item['images'].dtype == torch.uint8 and item['images'][0, 0,
                                                                  0] == 4
    assert item['data_samples'].gt_label.item() == 0
    assert item['features'][0].shape == (4, 3)
    exact = DATASETS.build(dict(type='LatentDataset', data_root=str(
        tmp_path), sample_posterior=False))
    torch.testing.assert_close(exact[4]['inputs'], S * mean[4])
    # z = s (mu + sigma eps): moments of many draws
    torch.manual_seed(1)
    draws = torch.stack([ds[2]['inputs'] for _ in range(4000)])
    torch.testing.assert_close(draws.mean(0), S * mean[2], atol=0.02,
                               rtol=0)
    torch.testing.assert_close(draws.std(0), S * std[2], atol=0.02, rtol=0)


def test_random_flip_uses_flipped_moments(tmp_path):
    mean, _ = _folder(tmp_path)
    ds = DATASETS.build(dict(type='LatentDataset', data_root=str(tmp_path),
                             flip='random', sample_posterior=False))
    seen = set()
    for _ in range(40):
        item = ds[1]
        flipped = item['data_samples'].flipped
        seen.add(flipped)
        expected = S * (mean[1].flip(-1) if flipped else mean[1])
        torch.testing.assert_close(item['inputs'], expected)
    assert seen == {True, False}


def test_missing_and_corrupted_shards_are_named(tmp_path):
    _folder(tmp_path)
    (tmp_path / shard_name(1)).write_bytes(b'not a torch file')
    ds = DATASETS.build(dict(type='LatentDataset', data_root=str(tmp_path)))
    ds[0]
    with pytest.raises(DataError, match='corrupted: .*shard_00001.pt'):
        ds[3]
    (tmp_path / shard_name(1)).unlink()
    with pytest.raises(DataError, match='missing: .*shard_00001.pt'):
        DATASETS.build(dict(type='LatentDataset', data_root=str(tmp_path)))
    (tmp_path / 'index.json').unlink()
    with pytest.raises(DataError, match='index.json'):
        DATASETS.build(dict(type='LatentDataset', data_root=str(tmp_path)))


def test_bad_options(tmp_path):
    _folder(tmp_path)
    with pytest.raises(ConfigError, match='features'):
        DATASETS.build(dict(type='LatentDataset', data_root=str(tmp_path),
                            features=['dinov2']))
    with pytest.raises(ConfigError, match='flip'):
        DATASETS.build(dict(type='LatentDataset', data_root=str(tmp_path),
                            flip='always'))


def test_items_declare_latents(tmp_path):
    _folder(tmp_path)
    ds = DATASETS.build(dict(type='LatentDataset', data_root=str(tmp_path)))
    assert ds.metainfo['input_space'] == 'latent'
    assert ds[0]['data_samples'].input_space == 'latent'


def test_required_images_that_do_not_exist_are_an_error(tmp_path):
    _folder(tmp_path)
    index = json.loads((tmp_path / 'index.json').read_text())
    index.update(images=False, data_root=str(tmp_path / 'moved_away'))
    (tmp_path / 'index.json').write_text(json.dumps(index))
    with pytest.raises(DataError, match='with_images=True.*shard_00000.pt.*'
                       'moved_away'):
        DATASETS.build(dict(type='LatentDataset', data_root=str(tmp_path),
                            with_images=True))
    # not required: the items simply carry no images
    for with_images in (None, False):
        ds = DATASETS.build(dict(type='LatentDataset',
                                 data_root=str(tmp_path),
                                 with_images=with_images))
        assert not ds.with_images and 'images' not in ds[0]
