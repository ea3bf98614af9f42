"""MetaMAE tokenisers: token shapes, reconstruction targets, the tied head
and the divisibility errors."""
import pytest
import torch

from rgl.models.meta import (ImagePatchTokenizer, SequencePatchTokenizer,
                             TabularTokenizer, TokenIdTokenizer)
from rgl.registry import MODELS
from rgl.utils import ConfigError, DataError


def test_image_patches():
    tok = MODELS.build(dict(type='ImagePatchTokenizer', img_size=(8, 12),
                            patch_size=4, in_channels=3, embed_dim=16))
    x = torch.rand(2, 3, 8, 12)
    assert tok.grid == (2, 3) and tok.num_tokens == 6 and tok.pred_dim == 48
    assert tok(x).shape == (2, 6, 16)
    target = tok.target(x)
    # token (1, 2) = rows 4..7, cols 8..11, pixels in (p, q, C) order
    want = x[1, :, 4:8, 8:12].permute(1, 2, 0).reshape(-1)
    assert torch.equal(target[1, 1 * 3 + 2], want)
    # the embedding of a token only sees its own patch
    x2 = x.clone()
    x2[:, :, :4, :4] += 1
    assert torch.equal(tok(x2)[:, 1:], tok(x)[:, 1:])
    assert not torch.allclose(tok(x2)[:, 0], tok(x)[:, 0])


def test_sequence_segments_along_time():
    tok = SequencePatchTokenizer(seq_len=20, patch_size=5, in_channels=3,
                                 embed_dim=8)
    x = torch.randn(2, 3, 20)
    assert tok.grid == (4, ) and tok(x).shape == (2, 4, 8)
    target = tok.target(x)
    assert target.shape == (2, 4, 15)
    assert torch.equal(target[0, 2], x[0, :, 10:15].t().reshape(-1))


def test_tabular_one_token_per_feature():
    tok = TabularTokenizer(num_features=28, embed_dim=8)
    x = torch.randn(5, 28)
    assert tok.grid == (28, ) and tok.pred_dim == 1
    assert tok(x).shape == (5, 28, 8)
    assert torch.equal(tok(x), tok(x[:, None]))  # (N, 1, F) rows too
    assert torch.equal(tok.target(x)[..., 0], x)
    with pytest.raises(DataError, match=r'\(N, 1, 28\)'):
        tok(torch.randn(5, 27))


def test_token_ids_and_tied_head():
    tok = TokenIdTokenizer(vocab_size=4, seq_len=10, embed_dim=8)
    ids = torch.randint(0, 4, (3, 10))
    assert torch.equal(tok(ids), tok.proj.weight[ids])
    h = torch.randn(3, 10, 8, requires_grad=True)
    logits = tok.to_prediction(h)
    assert logits.shape == (3, 10, 4)
    assert torch.allclose(logits, h @ tok.proj.weight.t())
    loss = tok.token_loss(logits, ids)
    want = torch.nn.functional.cross_entropy(
        logits.reshape(-1, 4), ids.reshape(-1), reduction='none')
    assert torch.allclose(loss.reshape(-1), want)
    # the head is the embedding: its gradient reaches the embedding matrix
    loss.sum().backward()
    assert tok.proj.weight.grad.abs().sum() > 0
    with pytest.raises(DataError, match='vocab_size'):
        tok(torch.full((1, 10), 4))
    with pytest.raises(DataError, match='integer'):
        tok(torch.rand(1, 10))


@pytest.mark.parametrize('cfg, key', [
    (dict(type='ImagePatchTokenizer', img_size=30, patch_size=4),
     'tokenizer.patch_size=4 does not divide img_size'),
    (dict(type='SequencePatchTokenizer', seq_len=321, patch_size=5),
     'tokenizer.patch_size=5 does not divide seq_len=321'),
    (dict(type='TokenIdTokenizer', vocab_size=0, seq_len=3),
     'tokenizer.vocab_size'),
])
def test_bad_sizes_name_the_key(cfg, key):
    with pytest.raises(ConfigError, match=key):
        MODELS.build(cfg)


def test_wrong_input_shape_is_a_data_error():
    tok = ImagePatchTokenizer(img_size=8, patch_size=2, in_channels=1,
                              embed_dim=8)
    with pytest.raises(DataError, match=r'\(N, 1, 8, 8\)'):
        tok(torch.rand(2, 3, 8, 8))
