"""Common corruptions (Hendrycks & Dietterich, ICLR 2019) on image tensors.

Batched and vectorised: every function takes ``x`` ``(N, C, H, W)`` in
[0, 1] and returns a corrupted copy in [0, 1]. Severities 1-5 use the
constants of the CIFAR-10-C generator (32x32 images); other image sizes
use the same constants (kernels in pixels, zooms and pixelation as
fractions of the side).

All 15 of the benchmark: noise (``gaussian_noise``, ``shot_noise``,
``impulse_noise``), blur (``defocus_blur``, ``glass_blur``,
``motion_blur``, ``zoom_blur``), weather (``snow``, ``frost``, ``fog``)
and digital (``brightness``, ``contrast``, ``elastic_transform``,
``pixelate``, ``jpeg_compression``); plus two of the four held-out extra
corruptions, ``speckle_noise`` and ``gaussian_blur``. Where the reference
generator needs ImageMagick (motion blur), photographs (frost) or
per-pixel Python loops (glass blur's swaps), the tensor versions here are
vectorised approximations; docs/methods/nib.md lists each difference.

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
    # (σ of the Gaussian blurs, max displacement, iterations)
    glass_blur=((0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2),
                (0.4, 1, 2)),
    # (radius, σ) of ImageMagick's one-sided motion kernel
    motion_blur=((10, 1), (10, 1.5), (10, 2), (10, 2.5), (12, 3)),
    # (mean, std, zoom, threshold, motion radius, motion σ, blend)
    snow=((0.1, 0.2, 1, 0.6, 8, 3, 0.95),
          (0.1, 0.2, 1, 0.5, 10, 4, 0.9),
          (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9),
          (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
          (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8)),
    # (weight of the image, weight of the frost texture)
    frost=((1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)),
    # (fog strength, wibble decay of the plasma fractal)
    fog=((0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)),
    # (α, σ, affine jitter) as fractions of the image side
    elastic_transform=((0, 0, 0.08), (0.05, 0.2, 0.07), (0.08, 0.06, 0.06),
                       (0.1, 0.04, 0.05), (0.1, 0.03, 0.03)),
)

#: Corruptions that draw random numbers.
RANDOM = ('gaussian_noise', 'shot_noise', 'impulse_noise', 'speckle_noise',
          'glass_blur', 'motion_blur', 'snow', 'frost', 'fog',
          'elastic_transform')


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

    def uniform(self, shape, low=0.0, high=1.0):
        """``(N, *shape)`` uniform draws, image ``i``'s from its own seed."""
        n = self.x.shape[0]
        if self.generators is None:
            u = torch.rand((n, *shape), generator=self.generator,
                           dtype=torch.float64)
        else:
            u = torch.stack([torch.rand(shape, generator=g,
                                        dtype=torch.float64)
                             for g in self.generators])
        return (low + (high - low) * u).to(self.x)

    def normal(self, shape, mean=0.0, std=1.0):
        n = self.x.shape[0]
        if self.generators is None:
            e = torch.randn((n, *shape), generator=self.generator,
                            dtype=torch.float64)
        else:
            e = torch.stack([torch.randn(shape, generator=g,
                                         dtype=torch.float64)
                             for g in self.generators])
        return (mean + std * e).to(self.x)

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


# ---------------------------------------------------------------------------
# helpers of the blur, weather and geometric corruptions


def _shift_gather(x, dy, dx):
    """``out[n, :, i, j] = x[n, :, i + dy[n, i, j], j + dx[n, i, j]]`` with
    edge clamping; ``dy``/``dx`` are integer tensors ``(N, H, W)`` or
    ``(N, 1, 1)`` (one shift per image)."""
    n, _, h, w = x.shape
    rows = torch.arange(h, device=x.device).view(1, h, 1) + dy
    cols = torch.arange(w, device=x.device).view(1, 1, w) + dx
    rows, cols = rows.clamp(0, h - 1), cols.clamp(0, w - 1)
    rows, cols = torch.broadcast_tensors(rows, cols)
    index = torch.arange(n, device=x.device).view(n, 1, 1).expand_as(rows)
    return x.permute(0, 2, 3, 1)[index, rows, cols].permute(0, 3, 1, 2)


def _motion_kernel(radius, sigma):
    """ImageMagick's motion-blur taps: ``w_i ∝ exp(-i²/2σ²)``, ``i = 0 ..
    2·radius``, one-sided along the blur direction."""
    i = torch.arange(2 * int(math.ceil(radius)) + 1, dtype=torch.float64)
    w = torch.exp(-i**2 / (2 * sigma**2))
    return i, w / w.sum()


def _motion(x, radius, sigma, angle_deg):
    """Blur each image along its own angle (degrees, ``(N,)``): a weighted
    sum of integer shifts, a loop over the few taps, not over pixels."""
    taps, weights = _motion_kernel(radius, sigma)
    theta = torch.deg2rad(angle_deg.double()).view(-1, 1, 1)
    out = torch.zeros_like(x)
    for i, w in zip(taps, weights.tolist()):
        if w < 1e-12:
            break
        dx = torch.round(i * torch.cos(theta)).long().to(x.device)
        dy = torch.round(i * torch.sin(theta)).long().to(x.device)
        out += w * _shift_gather(x, dy, dx)
    return out


def _clipped_zoom(x, zoom):
    """Zoom into the centre by ``zoom`` and keep the image size (bilinear;
    SciPy's order-1 zoom and a centre trim in the reference)."""
    if zoom == 1:
        return x
    h, w = x.shape[-2:]
    ch, cw = math.ceil(h / zoom), math.ceil(w / zoom)
    top, left = (h - ch) // 2, (w - cw) // 2
    crop = x[..., top:top + ch, left:left + cw]
    return F.interpolate(crop, size=(h, w), mode='bilinear',
                         align_corners=False)


def _gray(x):
    """OpenCV's RGB2GRAY luma (the image itself when it has one channel)."""
    if x.shape[1] != 3:
        return x.mean(dim=1, keepdim=True)
    w = x.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


def plasma_fractal(draws, mapsize, wibbledecay):
    """Diamond-square plasma ``(N, mapsize, mapsize)`` in [0, 1], one map per
    image (the reference's ``plasma_fractal``, batched: a loop over the
    log2(mapsize) scales). ``mapsize`` is a power of two."""
    n = draws.x.shape[0]
    m = torch.zeros(n, mapsize, mapsize, dtype=torch.float64)
    step, wibble = mapsize, 100.0

    def wibbled_mean(total):
        # the reference scales uniform(-wibble, wibble) by wibble once more
        noise = draws.uniform(total.shape[1:], -wibble, wibble).double()
        return total / 4 + wibble * noise.cpu()

    while step >= 2:
        half = step // 2
        corners = m[:, 0::step, 0::step]
        square = corners + corners.roll(-1, dims=1)
        square = square + square.roll(-1, dims=2)
        m[:, half::step, half::step] = wibbled_mean(square)
        centres = m[:, half::step, half::step]
        corners = m[:, 0::step, 0::step]
        left = centres + centres.roll(1, dims=1)
        top = corners + corners.roll(-1, dims=2)
        m[:, 0::step, half::step] = wibbled_mean(left + top)
        left = centres + centres.roll(1, dims=2)
        top = corners + corners.roll(-1, dims=1)
        m[:, half::step, 0::step] = wibbled_mean(left + top)
        step //= 2
        wibble /= wibbledecay
    m = m - m.amin(dim=(1, 2), keepdim=True)
    return m / m.amax(dim=(1, 2), keepdim=True).clamp_min(1e-12)


def _warp(x, rows, cols):
    """Bilinear sampling of ``x`` at pixel coordinates ``(N, H, W)`` with
    reflection at the borders."""
    h, w = x.shape[-2:]
    grid = torch.stack([2 * cols / max(w - 1, 1) - 1,
                        2 * rows / max(h - 1, 1) - 1], dim=-1)
    return F.grid_sample(x, grid.to(x), mode='bilinear',
                         padding_mode='reflection', align_corners=True)


# ---------------------------------------------------------------------------
# blur


def glass_blur(x, c, draws):
    sigma, delta, iterations = c
    out = (gaussian_blur(x, sigma) * 255).floor() / 255  # np.uint8 in ref.
    n, _, h, w = x.shape
    # the reference swaps each pixel of the inner region with a neighbour
    # displaced by randint(-δ, δ) (so -δ .. δ-1), pixel after pixel; here
    # every inner pixel reads its displaced neighbour in one gather (the
    # same displacement law, not a permutation)
    inner = torch.zeros(h, w, dtype=torch.bool)
    inner[delta:h - delta + 1, delta:w - delta + 1] = True
    for _ in range(iterations):  # 1 or 2 passes
        d = torch.floor(draws.uniform((2, h, w), -delta, delta)).long()
        d = d.cpu() * inner
        out = _shift_gather(out, d[:, 0].to(x.device), d[:, 1].to(x.device))
    return gaussian_blur(out, sigma)


def motion_blur(x, c, draws):
    radius, sigma = c
    angle = draws.uniform((), -45, 45).cpu()
    return _motion(x, radius, sigma, angle)


# ---------------------------------------------------------------------------
# weather


def snow(x, c, draws):
    mean, std, zoom, threshold, radius, sigma, blend = c
    n, _, h, w = x.shape
    layer = draws.normal((1, h, w), mean, std)
    layer = _clipped_zoom(layer, zoom)
    layer = torch.where(layer < threshold, torch.zeros_like(layer), layer)
    layer = (layer.clamp(0, 1) * 255).round() / 255  # the 8-bit PIL layer
    angle = draws.uniform((), -135, -45).cpu()
    layer = _motion(layer, radius, sigma, angle)
    x = blend * x + (1 - blend) * torch.maximum(x, _gray(x) * 1.5 + 0.5)
    return x + layer + layer.flip(-1).flip(-2)


def frost(x, c, draws, texture_dir=None):
    w_img, w_frost = c
    texture = frost_texture(draws, x.shape, texture_dir)
    return w_img * x + w_frost * texture


def frost_texture(draws, shape, texture_dir=None, scale=0.2):
    """Frost layers ``(N, C, H, W)`` in [0, 1], one per image.

    With ``texture_dir`` (the six ``frost*.png|jpg`` photographs of the
    reference, or any images), image ``i`` takes a random crop of a random
    texture resized by ``scale`` (0.2, the CIFAR-10-C generator's factor).
    Without it, a deterministic procedural texture stands in: a rough
    plasma fractal (decay 1.5) sharpened into bright crystalline patches.
    It is not the photographs: accuracies under ``frost`` then differ from
    the published CIFAR-10-C numbers (docs/methods/nib.md).
    """
    n, c, h, w = shape
    if texture_dir is not None:
        return _photo_frost(draws, shape, texture_dir, scale)
    size = 1 << max(h, w, 2).bit_length()
    m = plasma_fractal(draws, size, 1.5)[:, :h, :w]
    fine = plasma_fractal(draws, size, 3.0)[:, :h, :w]
    layer = (0.6 * m.pow(2) + 0.4 * fine).clamp(0, 1)
    # frost photographs are blue-white: the blue channel a little brighter
    tint = torch.tensor([0.9, 0.95, 1.0] if c == 3 else [0.95] * c,
                        dtype=torch.float64)
    return (layer[:, None] * tint.view(1, c, 1, 1)).to(draws.x)


_TEXTURES = {}


def _photo_frost(draws, shape, texture_dir, scale):
    import os

    import numpy as np
    from PIL import Image
    n, c, h, w = shape
    key = (os.path.abspath(texture_dir), scale, c)
    if key not in _TEXTURES:
        if not os.path.isdir(texture_dir):
            raise ConfigError(f'frost: texture_dir {texture_dir!r} is not a '
                              'folder')
        files = sorted(f for f in os.listdir(texture_dir)
                       if f.lower().endswith(('.png', '.jpg', '.jpeg')))
        if not files:
            raise ConfigError(f'frost: no .png/.jpg image in texture_dir '
                              f'{texture_dir!r}')
        images = []
        for f in files:
            img = Image.open(os.path.join(texture_dir, f))
            img = img.convert('RGB' if c == 3 else 'L')
            img = img.resize((max(1, round(img.width * scale)),
                              max(1, round(img.height * scale))),
                             Image.BILINEAR)
            arr = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255)
            images.append(arr.permute(2, 0, 1) if arr.dim() == 3 else
                          arr[None].expand(c, -1, -1))
        _TEXTURES[key] = images
    images = _TEXTURES[key]
    for img, f in zip(images, range(len(images))):
        if img.shape[-2] < h or img.shape[-1] < w:
            raise ConfigError(f'frost: texture {f} of {texture_dir!r} is '
                              f'{tuple(img.shape[-2:])} after scale {scale}, '
                              f'smaller than the images ({h}, {w})')
    pick = draws.uniform((3,)).cpu()
    out = []
    for i in range(n):  # one crop per image, not per pixel
        img = images[int(pick[i, 0] * len(images)) % len(images)]
        top = int(pick[i, 1] * (img.shape[-2] - h + 1))
        left = int(pick[i, 2] * (img.shape[-1] - w + 1))
        out.append(img[:, top:top + h, left:left + w])
    return torch.stack(out).to(draws.x)


def fog(x, c, draws):
    strength, decay = c
    h, w = x.shape[-2:]
    size = 1 << (max(h, w) - 1).bit_length()  # 32 for CIFAR, as the ref.
    peak = x.amax(dim=(1, 2, 3), keepdim=True)
    plasma = plasma_fractal(draws, size, decay)[:, None, :h, :w]
    x = x + strength * plasma.to(x)
    return x * peak / (peak + strength)


# ---------------------------------------------------------------------------
# geometric


def elastic_transform(x, c, draws):
    n, _, h, w = x.shape
    side = min(h, w)  # the reference's IMSIZE
    alpha, sigma, jitter = (v * side for v in c)
    # a random affine map: three points around the centre, each moved by
    # U(-jitter, jitter) (cv2.getAffineTransform + warpAffine in the ref.)
    centre, half = side // 2, side // 3
    src = torch.tensor([[centre + half, centre + half],
                        [centre + half, centre - half],
                        [centre - half, centre - half]], dtype=torch.float64)
    dst = src + draws.uniform((3, 2), -jitter, jitter).double().cpu()
    ones = torch.ones(n, 3, 1, dtype=torch.float64)
    # dst = [src 1] @ A  ->  the inverse map sends output pixels to input
    inverse = torch.linalg.solve(torch.cat([dst, ones], dim=2),
                                 src.expand(n, -1, -1))  # (N, 3, 2)
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float64),
                            torch.arange(w, dtype=torch.float64),
                            indexing='ij')
    pts = torch.stack([xx, yy, torch.ones_like(xx)], -1).view(1, h * w, 3)
    mapped = (pts @ inverse).view(n, h, w, 2)
    x = _warp(x, mapped[..., 1], mapped[..., 0])
    if alpha == 0:
        return x
    # smooth random displacement fields (Simard et al.); SciPy's
    # gaussian_filter with truncate=3 and reflection in the reference
    field = draws.uniform((2, h, w), -1, 1)
    radius = min(int(3 * sigma + 0.5), side - 1)
    g = _gaussian_1d(sigma, radius)
    field = _depthwise(field, g[:, None] * g[None, :], 'reflect') * alpha
    rows = yy.to(x).expand(n, h, w) + field[:, 1]
    cols = xx.to(x).expand(n, h, w) + field[:, 0]
    return _warp(x, rows, cols)


CORRUPTIONS = dict(
    gaussian_noise=gaussian_noise, shot_noise=shot_noise,
    impulse_noise=impulse_noise, speckle_noise=speckle_noise,
    gaussian_blur=gaussian_blur, defocus_blur=defocus_blur,
    glass_blur=glass_blur, motion_blur=motion_blur, zoom_blur=zoom_blur,
    snow=snow, frost=frost, fog=fog, contrast=contrast,
    brightness=brightness, elastic_transform=elastic_transform,
    pixelate=pixelate, jpeg_compression=jpeg_compression)


def check_corruption(name, severity):
    if name not in CORRUPTIONS:
        raise ConfigError(f'unknown corruption {name!r}; choose from '
                          f'{", ".join(CORRUPTIONS)}')
    if not isinstance(severity, int) or not 1 <= severity <= 5:
        raise ConfigError(f'corruption severity must be an int in 1..5, got '
                          f'{severity!r}')


def corrupt(x, name, severity, seeds=None, generator=None,
            texture_dir=None):
    """Apply corruption ``name`` at ``severity`` (1-5) to ``x`` in [0, 1].

    Args:
        x (Tensor): ``(N, C, H, W)`` images in [0, 1].
        seeds (Sequence, optional): one seed (int or tuple of ints) per
            image for the random corruptions.
        generator (torch.Generator, optional): one generator for the whole
            batch when ``seeds`` is not given.
        texture_dir (str, optional): a folder of frost photographs for
            ``frost`` (default: a procedural texture, see
            :func:`frost_texture`).
    """
    check_corruption(name, severity)
    if x.dim() != 4:
        raise ConfigError(f'corrupt expects (N, C, H, W) images, got shape '
                          f'{tuple(x.shape)}')
    c = SEVERITY[name][severity - 1]
    draws = _Draws(x, seeds, generator) if name in RANDOM else None
    if name == 'frost':
        return frost(x, c, draws, texture_dir).clamp(0, 1)
    return CORRUPTIONS[name](x, c, draws).clamp(0, 1)


@TRANSFORMS.register_module()
class ImageCorruption:
    """A dataset transform: corrupt one ``(C, H, W)`` image in [0, 1].

    Random corruptions draw from one generator seeded by ``seed`` at
    construction (deterministic for a fixed read order). For results that
    do not depend on the order, corrupt batches with :func:`corrupt` and
    per-image seeds (``tools/nib/evaluate_reliability.py`` does).
    """

    def __init__(self, name, severity, seed=0, texture_dir=None):
        check_corruption(name, severity)
        self.name, self.severity = name, severity
        self.generator = _generator(seed)
        self.texture_dir = texture_dir

    def __call__(self, img):
        return corrupt(img[None], self.name, self.severity,
                       generator=self.generator,
                       texture_dir=self.texture_dir)[0]
