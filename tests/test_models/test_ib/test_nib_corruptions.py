import pytest
import torch

from rgl.datasets.corruptions import (CORRUPTIONS, SEVERITY, ImageCorruption,
                                      corrupt, disk_kernel)
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
    assert dist[-1] > dist[0] > 0 or name == 'zoom_blur' and dist[0] == 0
    if name != 'pixelate':
        # a stronger severity never brings the images closer to the clean
        # ones; pixelation is not nested (15, 14, 13, 12 and 10 px boxes
        # of a 16 px image alias differently), as in the reference
        assert all(b >= a - 1e-6 for a, b in zip(dist, dist[1:])), dist


@pytest.mark.parametrize('name', ['gaussian_noise', 'shot_noise',
                                  'impulse_noise', 'speckle_noise'])
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
    with pytest.raises(ConfigError, match="unknown corruption 'fog'"):
        corrupt(x, 'fog', 1)
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
