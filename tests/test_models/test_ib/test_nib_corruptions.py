import pytest
import torch

from rgl.datasets.corruptions import (CORRUPTIONS, RANDOM, SEVERITY,
                                      ImageCorruption, _Draws, corrupt,
                                      disk_kernel, plasma_fractal)
from rgl.datasets.digits import load_digits_tensor
from rgl.utils.errors import ConfigError


@pytest.fixture(scope='module')
def digits():
    x, _ = load_digits_tensor(img_size=16)
    return x[:32].float() / 255


def seeds(n, offset=0):
    return [(0, offset + i) for i in range(n)]


@pytest.mark.parametrize('name', sorted(CORRUPTIONS))
@pytest.mark.parametrize('channels', [1, 3])
def test_shape_range_and_severity_monotonicity(name, channels, digits):
    x = digits[:16].expand(-1, channels, -1, -1).contiguous()
    dist = []
    for s in range(1, 6):
        out = corrupt(x, name, s, seeds=seeds(len(x)))
        assert out.shape == x.shape and out.dtype == x.dtype
        assert out.min() >= 0 and out.max() <= 1
        dist.append((out - x).abs().mean().item())
    assert dist[0] > 0 or name == 'zoom_blur' and dist[0] == 0
    if name != 'elastic_transform':
        assert dist[-1] > dist[0]
    if name not in NOT_NESTED:
        # a stronger severity never brings the images closer to the clean
        # ones; pixelation is not nested (15, 14, 13, 12 and 10 px boxes
        # of a 16 px image alias differently), as in the reference
        assert all(b >= a - 1e-6 for a, b in zip(dist, dist[1:])), dist


#: the reference constants are not nested in these (pixelate: aliasing;
#: glass blur: σ and the shuffle passes trade off; frost: the texture
#: weight rises while the image weight falls; elastic: severity 1 has the
#: largest affine jitter and no elastic field)
NOT_NESTED = {'pixelate', 'glass_blur', 'frost', 'elastic_transform'}


def _corr(a, b):
    a, b = a.flatten(1), b.flatten(1)
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    return ((a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))).mean().item()


@pytest.fixture(scope='module')
def digits32():
    x, _ = load_digits_tensor(img_size=32)
    return x[:32].float() / 255


@pytest.mark.parametrize('name', ['motion_blur', 'snow', 'frost', 'fog'])
def test_strength_is_monotone_in_severity(name, digits32):
    # correlation with the clean image falls strictly with the severity
    corr = [_corr(corrupt(digits32, name, s, seeds=seeds(32)), digits32)
            for s in range(1, 6)]
    assert all(b < a for a, b in zip(corr, corr[1:])), corr
    assert corr[0] < 1


def test_glass_and_elastic_strength(digits32):
    corr = [_corr(corrupt(digits32, 'glass_blur', s, seeds=seeds(32)),
                  digits32) for s in range(1, 6)]
    # two shuffle passes (severities 4, 5) move pixels further than one
    assert max(corr[3:]) < min(corr[:3]) < 1, corr
    corr = [_corr(corrupt(digits32, 'elastic_transform', s,
                          seeds=seeds(32)), digits32) for s in range(1, 6)]
    # every severity displaces pixels; the reference's severity 1 (the
    # largest affine jitter) is the strongest, severity 5 the weakest
    assert max(corr) < 0.99 and corr[0] < corr[-1], corr


@pytest.mark.parametrize('name', ['glass_blur', 'motion_blur',
                                  'elastic_transform'])
def test_geometric_blurs_keep_a_constant_image(name):
    x = torch.full((3, 3, 16, 16), 0.37)
    for s in (1, 5):
        torch.testing.assert_close(corrupt(x, name, s, seeds=seeds(3)), x,
                                   atol=2.5e-3, rtol=0)


def test_plasma_fractal_range_and_seeds():
    x = torch.zeros(3, 1, 8, 8)
    m = plasma_fractal(_Draws(x, seeds(3)), 32, 3)
    assert m.shape == (3, 32, 32)
    assert m.amin(dim=(1, 2)).eq(0).all() and m.amax(dim=(1, 2)).eq(1).all()
    again = plasma_fractal(_Draws(x[1:2], seeds(1, offset=1)), 32, 3)
    torch.testing.assert_close(again[0], m[1])
    # a slower decay keeps more fine detail: rougher neighbour differences
    rough = plasma_fractal(_Draws(x, seeds(3)), 32, 1.5)
    assert (rough.diff(dim=-1).abs().mean() >
            m.diff(dim=-1).abs().mean())


def test_fog_by_hand():
    # fog = (x + s·plasma) · max(x) / (max(x) + s), with the same plasma
    x = torch.rand(2, 3, 16, 16)
    s = SEVERITY['fog'][2]
    plasma = plasma_fractal(_Draws(x, seeds(2)), 16, s[1])[:, None].float()
    peak = x.amax(dim=(1, 2, 3), keepdim=True)
    expected = ((x + s[0] * plasma) * peak / (peak + s[0])).clamp(0, 1)
    torch.testing.assert_close(corrupt(x, 'fog', 3, seeds=seeds(2)),
                               expected)


def test_frost_texture_folder(tmp_path, digits32):
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    for k in range(2):
        arr = (rng.random((200, 220, 3)) * 255).astype(np.uint8)
        Image.fromarray(arr).save(tmp_path / f'frost{k}.png')
    x = digits32[:4].expand(-1, 3, -1, -1).contiguous()
    out = corrupt(x, 'frost', 3, seeds=seeds(4), texture_dir=str(tmp_path))
    again = corrupt(x, 'frost', 3, seeds=seeds(4),
                    texture_dir=str(tmp_path))
    torch.testing.assert_close(out, again)
    procedural = corrupt(x, 'frost', 3, seeds=seeds(4))
    assert not torch.allclose(out, procedural)
    # frost = 0.9 x + 0.4 texture: the texture is what is left over
    texture = (out - 0.9 * x) / 0.4
    assert texture[out < 1].min() >= -1e-5
    with pytest.raises(ConfigError, match='texture_dir'):
        corrupt(x, 'frost', 1, seeds=seeds(4),
                texture_dir=str(tmp_path / 'missing'))


@pytest.mark.parametrize('name', RANDOM)
def test_per_image_seeds_do_not_depend_on_the_batch(name, digits):
    full = corrupt(digits, name, 3, seeds=seeds(32))
    again = corrupt(digits, name, 3, seeds=seeds(32))
    torch.testing.assert_close(full, again)  # deterministic
    part = corrupt(digits[5:9], name, 3, seeds=seeds(4, offset=5))
    torch.testing.assert_close(part, full[5:9])
    other = corrupt(digits, name, 3, seeds=[(1, i) for i in range(32)])
    assert not torch.equal(other, full)


def test_gaussian_noise_has_the_severity_std():
    x = torch.full((64, 1, 16, 16), 0.5)
    out = corrupt(x, 'gaussian_noise', 5, seeds=seeds(64))
    assert (out - x).std().item() == pytest.approx(0.10, rel=0.03)
    out = corrupt(x, 'impulse_noise', 5, seeds=seeds(64))
    changed = (out != x).float().mean().item()
    assert changed == pytest.approx(0.07, abs=0.01)
    assert set(out[out != x].unique().tolist()) <= {0.0, 1.0}


def test_deterministic_corruptions_by_hand():
    x = torch.tensor([[0.2, 0.4], [0.6, 1.0]]).view(1, 1, 2, 2)
    mean = x.mean()
    torch.testing.assert_close(corrupt(x, 'contrast', 2),
                               (x - mean) * 0.5 + mean)
    # grey image: the HSV value is the pixel itself
    torch.testing.assert_close(corrupt(x, 'brightness', 5),
                               (x + 0.3).clamp(0, 1))
    rgb = torch.tensor([0.2, 0.4, 0.1]).view(1, 3, 1, 1)
    out = corrupt(rgb, 'brightness', 1)  # V 0.4 -> 0.45, hue/sat kept
    torch.testing.assert_close(out, rgb * 0.45 / 0.4)


def test_defocus_kernel():
    for radius, alias in SEVERITY['defocus_blur']:
        k = disk_kernel(radius, alias)
        assert k.sum().item() == pytest.approx(1.0)
        torch.testing.assert_close(k, k.flip(0).flip(1))
    # σ = 0.1 leaves the 3x3 disk; σ = 0.5 spreads the plus of radius 1
    assert disk_kernel(1.5, 0.1).shape == (3, 3)
    assert disk_kernel(1, 0.5).shape == (5, 5)


def test_bad_inputs_name_the_value():
    x = torch.rand(1, 1, 8, 8)
    with pytest.raises(ConfigError, match='severity'):
        corrupt(x, 'contrast', 6)
    with pytest.raises(ConfigError, match="unknown corruption 'mist'"):
        corrupt(x, 'mist', 1)
    with pytest.raises(ConfigError, match='2 seeds'):
        corrupt(torch.rand(3, 1, 8, 8), 'gaussian_noise', 1, seeds=[0, 1])


def test_registered_transform():
    from rgl.registry import TRANSFORMS
    t = TRANSFORMS.build(dict(type='ImageCorruption', name='shot_noise',
                              severity=2, seed=3))
    assert isinstance(t, ImageCorruption)
    img = torch.rand(1, 8, 8)
    out = t(img)
    assert out.shape == img.shape
    t2 = ImageCorruption('shot_noise', 2, seed=3)
    torch.testing.assert_close(t2(img), out)
