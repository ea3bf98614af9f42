"""issue 8, section 4: WinCLIP's text prototypes are cached on disk per
(text weights, model name, prompts); open_clip's "initialized randomly"
warning is gone when rgl loads a checkpoint."""
import json
import logging
import os

import pytest
import torch

from rgl.registry import MODELS
from winclip_helpers import TINY_CLIP_CFG, save_tiny_clip

TEMPLATES = ('a photo of a {}.', 'a close-up photo of the {}.')


@pytest.fixture(scope='module')
def ckpts(tmp_path_factory):
    folder = tmp_path_factory.mktemp('clip')
    for seed in (0, 1):
        save_tiny_clip(folder / f'tiny_{seed}.pt', seed=seed)
    return folder


def build(ckpt, cache, templates=TEMPLATES):
    return MODELS.build(dict(
        type='WinCLIP', text_cache_dir=str(cache) if cache else None,
        clip=dict(model_name='tiny-test', model_cfg=TINY_CLIP_CFG,
                  checkpoint=str(ckpt)),
        prompt=dict(type='CompositionalPromptEnsemble',
                    templates=templates)))


def _forbid_encoding(model):
    """The second build must not run the text tower."""
    def refuse(*args, **kwargs):
        raise AssertionError('text prototypes were recomputed')
    model.prompt.forward = refuse


def _entries(cache):
    return sorted(p for p in os.listdir(cache) if p.endswith('.safetensors'))


def test_second_build_reads_the_cache(ckpts, tmp_path):
    cache = tmp_path / 'cache'
    first = build(ckpts / 'tiny_0.pt', cache)
    protos = first.text_prototypes('bottle')
    assert len(_entries(cache)) == 1
    assert not [p for p in os.listdir(cache) if p.endswith('.tmp')]
    # the same as the uncached computation, bit for bit
    direct = build(ckpts / 'tiny_0.pt', None).text_prototypes('bottle')
    assert torch.equal(protos, direct)

    second = build(ckpts / 'tiny_0.pt', cache)
    _forbid_encoding(second)
    assert torch.equal(second.text_prototypes('bottle'), protos)


@pytest.mark.parametrize('change', ['weights', 'prompts', 'class'])
def test_other_weights_prompts_or_class_miss(ckpts, tmp_path, change):
    cache = tmp_path / 'cache'
    base = build(ckpts / 'tiny_0.pt', cache)
    protos = base.text_prototypes('bottle')
    other = build(ckpts / ('tiny_1.pt' if change == 'weights'
                           else 'tiny_0.pt'), cache,
                  templates=TEMPLATES[:1] if change == 'prompts'
                  else TEMPLATES)
    name = 'cable' if change == 'class' else 'bottle'
    fresh = other.text_prototypes(name)
    assert len(_entries(cache)) == 2  # a miss wrote a second entry
    assert not torch.equal(fresh, protos)
    uncached = build(ckpts / ('tiny_1.pt' if change == 'weights'
                              else 'tiny_0.pt'), None,
                     templates=TEMPLATES[:1] if change == 'prompts'
                     else TEMPLATES).text_prototypes(name)
    assert torch.equal(fresh, uncached)


def test_corrupt_entry_is_rebuilt(ckpts, tmp_path):
    cache = tmp_path / 'cache'
    protos = build(ckpts / 'tiny_0.pt', cache).text_prototypes('bottle')
    entry = cache / _entries(cache)[0]
    entry.write_bytes(b'not a safetensors file')
    again = build(ckpts / 'tiny_0.pt', cache).text_prototypes('bottle')
    assert torch.equal(again, protos)
    assert entry.stat().st_size > 100  # rewritten


def test_no_random_init_warning_when_a_checkpoint_follows(ckpts, tmp_path,
                                                          caplog):
    """open_clip warns through the root logger when it creates a named
    model without weights; with a checkpoint that warning is false."""
    import open_clip

    from rgl.models.anomaly.clip_loader import build_open_clip
    name = 'rgl-tiny-quiet-test'
    (tmp_path / f'{name}.json').write_text(json.dumps(TINY_CLIP_CFG))
    open_clip.add_model_config(tmp_path / f'{name}.json')
    with caplog.at_level(logging.WARNING):
        build_open_clip(name, checkpoint=str(ckpts / 'tiny_0.pt'))
    assert 'initialized randomly' not in caplog.text
    with caplog.at_level(logging.WARNING):
        build_open_clip(name)  # random weights: the warning is true
    assert 'initialized randomly' in caplog.text
    assert not logging.getLogger().filters  # the filter was removed
