"""Common corruptions (Hendrycks & Dietterich, ICLR 2019) on image tensors.

Batched and vectorised: every function takes ``x`` ``(N, C, H, W)`` in
[0, 1] and returns a corrupted copy in [0, 1]. Severities 1-5 use the
constants of the CIFAR-10-C generator (32x32 images); other image sizes
use the same constants (kernels in pixels, zooms and pixelation as
fractions of the side).

Implemented (9 of the benchmark's 15): ``gaussian_noise``, ``shot_noise``,
``impulse_noise``, ``defocus_blur``, ``zoom_blur``, ``contrast``,
``brightness``, ``pixelate``, ``jpeg_compression``; plus two of the four
held-out extra corruptions, ``speckle_noise`` and ``gaussian_blur``. Not
implemented: ``glass_blur``, ``motion_blur``, ``snow``, ``frost``, ``fog``,
``elastic_transform`` (they need ImageMagick, frost photographs or
per-pixel Python loops in the reference generator).

Random corruptions draw image ``i``'s noise from its own generator seeded
by ``seeds[i]`` (e.g. ``(seed, dataset index)``), so a corrupted image does
not depend on the batch it is in.
"""
import math

import torch
import torch.nn.functional as F

from rgl.registry import TRANSFORMS
from rgl.utils.errors import ConfigError

#: Per-severity constants of the CIFAR-10-C generator.
SEVERITY = dict(
    gaussian_noise=(0.04, 0.06, 0.08, 0.09, 0.10),
    shot_noise=(500, 250, 100, 75, 50),
    impulse_noise=(0.01, 0.02, 0.03, 0.05, 0.07),
    speckle_noise=(0.06, 0.1, 0.12, 0.16, 0.2),
    gaussian_blur=(0.4, 0.6, 0.7, 0.8, 1.0),
    # (disk radius, σ of the anti-aliasing blur)
    defocus_blur=((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)),
    # the largest zoom factor; factors are 1, 1.01, ..., max
    zoom_blur=(1.05, 1.10, 1.15, 1.20, 1.25),
    contrast=(0.75, 0.5, 0.4, 0.3, 0.15),
    brightness=(0.05, 0.1, 0.15, 0.2, 0.3),
    pixelate=(0.95, 0.9, 0.85, 0.75, 0.65),
    jpeg_compression=(80, 65, 58, 50, 40),
)

#: Corruptions that draw random numbers.
RANDOM = ('gaussian_noise', 'shot_noise', 'impulse_noise', 'speckle_noise')


class _Draws:
    """Random tensors shaped like ``x``, one generator per image."""

    def __init__(self, x, seeds=None, generator=None):
        self.x = x
        self.generators = None
        if seeds is not None:
            if len(seeds) != x.shape[0]:
                raise ConfigError(f'corrupt: {len(seeds)} seeds for a batch '
                                  f'of {x.shape[0]} images')
            self.generators = [_generator(s) for s in seeds]
        self.generator = generator

    def _each(self, fn):
        if self.generators is None:
            return fn(self.x.shape, self.generator, None)
        return torch.stack([
            fn(self.x.shape[1:], g, i) for i, g in enumerate(self.generators)
        ])

    def rand(self):
        return self._each(lambda shape, g, i: torch.rand(
            shape, generator=g, dtype=torch.float64).to(self.x))

    def randn(self):
        return self._each(lambda shape, g, i: torch.randn(
            shape, generator=g, dtype=torch.float64).to(self.x))

    def poisson(self, rates):
        rates = rates.double().cpu()
        return self._each(lambda shape, g, i: torch.poisson(
            rates if i is None else rates[i], generator=g)).to(self.x)


def _generator(seed):
    if isinstance(seed, (tuple, list)):
        # a stable integer from (seed, index): no Python hash()
        value = 0
        for part in seed:
            value = (value * 1_000_003 + int(part)) % (2**63 - 1)
        seed = value
    g = torch.Generator()
    g.manual_seed(int(seed))
    return g


def _depthwise(x, kernel, pad_mode):
    """Convolve every channel with one 2-D kernel (odd side), same size."""
    k = kernel.to(x)
    r = k.shape[-1] // 2
    c = x.shape[1]
    padded = F.pad(x, (r, r, r, r), mode=pad_mode)
    return F.conv2d(padded, k.expand(c, 1, -1, -1), groups=c)


def _gaussian_1d(sigma, radius):
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    w = torch.exp(-t**2 / (2 * sigma**2))
    return w / w.sum()


def disk_kernel(radius, alias_blur):
    """The defocus kernel: a normalised disk of ``radius`` pixels, blurred by
    a 3x3 Gaussian of σ = ``alias_blur``, cropped to its support."""
    side = 8 if radius <= 8 else math.ceil(radius)
    t = torch.arange(-side, side + 1, dtype=torch.float64)
    yy, xx = torch.meshgrid(t, t, indexing='ij')
    disk = ((xx**2 + yy**2) <= radius**2).double()
    disk /= disk.sum()
    g = _gaussian_1d(alias_blur, 1 if radius <= 8 else 2)
    blurred = F.conv2d(disk[None, None], (g[:, None] * g[None, :])[None,
                                                                   None],
                       padding=g.numel() // 2)[0, 0]
    support = torch.nonzero(blurred > 1e-12)
    r = int((support - side).abs().max())
    return blurred[side - r:side + r + 1, side - r:side + r + 1]


def gaussian_noise(x, c, draws):
    return x + draws.randn() * c


def shot_noise(x, c, draws):
    return draws.poisson(x * c) / c


def impulse_noise(x, c, draws):
    flip = draws.rand() < c
    salt = draws.rand() < 0.5
    return torch.where(flip, salt.to(x.dtype), x)


def speckle_noise(x, c, draws):
    return x + x * draws.randn() * c


def gaussian_blur(x, sigma, draws=None):
    radius = int(4 * sigma + 0.5)  # scipy's truncate=4
    g = _gaussian_1d(sigma, radius)
    return _depthwise(x, g[:, None] * g[None, :], 'replicate')


def defocus_blur(x, c, draws=None):
    kernel = disk_kernel(*c)
    if kernel.shape[-1] // 2 >= min(x.shape[-2:]):
        raise ConfigError(f'defocus_blur: the kernel ({kernel.shape[-1]} '
                          f'px) is larger than the image')
    return _depthwise(x, kernel, 'reflect')  # OpenCV's BORDER_REFLECT_101


def zoom_blur(x, max_zoom, draws=None):
    h, w = x.shape[-2:]
    out = x.clone()
    steps = int(round((max_zoom - 1) / 0.01))
    for k in range(1, steps + 1):  # a handful of zoom factors, not pixels
        z = 1 + 0.01 * k
        ch, cw = math.ceil(h / z), math.ceil(w / z)
        top, left = (h - ch) // 2, (w - cw) // 2
        crop = x[..., top:top + ch, left:left + cw]
        out += F.interpolate(crop, size=(h, w), mode='bilinear',
                             align_corners=False)
    return (out + x) / (steps + 2)


def contrast(x, c, draws=None):
    means = x.mean(dim=(2, 3), keepdim=True)
    return (x - means) * c + means


def brightness(x, c, draws=None):
    # +c on HSV value with hue and saturation kept: RGB scales by V'/V
    v = x.amax(dim=1, keepdim=True)
    v_new = (v + c).clamp(0, 1)
    scaled = x * (v_new / v.clamp_min(1e-12))
    return torch.where(v > 0, scaled, v_new.expand_as(x))


def pixelate(x, c, draws=None):
    # box down (area average), nearest up, like PIL's BOX resize both ways;
    # the error is not monotone in the severity at small sides (15, 14, 13,
    # 12, 10 px cells of a 16 px image alias differently), as in CIFAR-10-C
    h, w = x.shape[-2:]
    small = F.adaptive_avg_pool2d(x, (int(h * c), int(w * c)))
    return F.interpolate(small, size=(h, w), mode='nearest')


def jpeg_compression(x, quality, draws=None):
    from torchvision.io import decode_jpeg, encode_jpeg
    images = list((x.clamp(0, 1) * 255).round().to(torch.uint8).cpu())
    decoded = decode_jpeg(encode_jpeg(images, quality=int(quality)))
    return torch.stack(decoded).to(x) / 255


CORRUPTIONS = dict(
    gaussian_noise=gaussian_noise, shot_noise=shot_noise,
    impulse_noise=impulse_noise, speckle_noise=speckle_noise,
    gaussian_blur=gaussian_blur, defocus_blur=defocus_blur,
    zoom_blur=zoom_blur, contrast=contrast, brightness=brightness,
    pixelate=pixelate, jpeg_compression=jpeg_compression)


def check_corruption(name, severity):
    if name not in CORRUPTIONS:
        raise ConfigError(f'unknown corruption {name!r}; choose from '
                          f'{", ".join(CORRUPTIONS)}')
    if not isinstance(severity, int) or not 1 <= severity <= 5:
        raise ConfigError(f'corruption severity must be an int in 1..5, got '
                          f'{severity!r}')


def corrupt(x, name, severity, seeds=None, generator=None):
    """Apply corruption ``name`` at ``severity`` (1-5) to ``x`` in [0, 1].

    Args:
        x (Tensor): ``(N, C, H, W)`` images in [0, 1].
        seeds (Sequence, optional): one seed (int or tuple of ints) per
            image for the random corruptions.
        generator (torch.Generator, optional): one generator for the whole
            batch when ``seeds`` is not given.
    """
    check_corruption(name, severity)
    if x.dim() != 4:
        raise ConfigError(f'corrupt expects (N, C, H, W) images, got shape '
                          f'{tuple(x.shape)}')
    c = SEVERITY[name][severity - 1]
    draws = _Draws(x, seeds, generator) if name in RANDOM else None
    return CORRUPTIONS[name](x, c, draws).clamp(0, 1)


@TRANSFORMS.register_module()
class ImageCorruption:
    """A dataset transform: corrupt one ``(C, H, W)`` image in [0, 1].

    Random corruptions draw from one generator seeded by ``seed`` at
    construction (deterministic for a fixed read order). For results that
    do not depend on the order, corrupt batches with :func:`corrupt` and
    per-image seeds (``tools/nib/evaluate_reliability.py`` does).
    """

    def __init__(self, name, severity, seed=0):
        check_corruption(name, severity)
        self.name, self.severity = name, severity
        self.generator = _generator(seed)

    def __call__(self, img):
        return corrupt(img[None], self.name, self.severity,
                       generator=self.generator)[0]
