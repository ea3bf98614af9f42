import pytest
import torch

from rgl.models.anomaly import WindowEmbedder
from rgl.models.anomaly.clip_loader import build_open_clip
from winclip_helpers import TINY_CLIP_CFG


@pytest.fixture(scope='module')
def clip():
    torch.manual_seed(0)
    return build_open_clip('tiny', model_cfg=TINY_CLIP_CFG)


def test_batched_windows_equal_per_window_loop(clip):
    emb = WindowEmbedder(clip.visual, scales=(2, 3), max_sequences=5)
    x = torch.randn(2, 3, 64, 64)
    batched = emb(x)['windows']
    loop = emb.forward_window_loop(x)
    for k, n in ((2, 9), (3, 4)):
        assert batched[k].shape == (2, n, 32)
        torch.testing.assert_close(batched[k], loop[k], atol=1e-5,
                                   rtol=1e-5)


def test_full_grid_window_is_the_image_embedding(clip):
    # a window covering all 4x4 patches is the whole token sequence
    emb = WindowEmbedder(clip.visual, scales=(4, ))
    x = torch.randn(3, 3, 64, 64)
    feats = emb(x)
    torch.testing.assert_close(feats['windows'][4][:, 0], feats['image'],
                               atol=1e-5, rtol=1e-5)
    with torch.no_grad():
        ref = torch.nn.functional.normalize(clip.encode_image(x), dim=-1)
    torch.testing.assert_close(feats['image'], ref, atol=1e-5, rtol=1e-5)
    assert feats['patches'].shape == (3, 16, 64)


def test_window_sees_only_its_patches(clip):
    emb = WindowEmbedder(clip.visual, scales=(2, ))
    x = torch.randn(1, 3, 64, 64)
    y = x.clone()
    y[..., 32:, 32:] = torch.randn(1, 3, 32, 32)  # bottom-right 2x2 patches
    a, b = emb(x)['windows'][2][0], emb(y)['windows'][2][0]
    # window 0 covers patches (0,0),(0,1),(1,0),(1,1): unchanged
    torch.testing.assert_close(a[0], b[0])
    assert not torch.allclose(a[8], b[8])  # window (2,2) covers the change


def test_bad_scale(clip):
    with pytest.raises(ValueError, match='scale 5'):
        WindowEmbedder(clip.visual, scales=(5, ))
