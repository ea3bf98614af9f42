"""The FID Inception-v3 (TF "2015-12-05" graph) in PyTorch.

Built from torchvision's Inception3 parts with the graph's quirks: the
average pools of the A, C and first E blocks exclude padding, and the last
E block pools with a max. The weight layout is pytorch-fid's
``pt_inception-2015-12-05-6726825d.pth`` (1008 logits); weights always come
from a local file.

It returns what the ADM evaluator reads from the TF graph:

- ``pool``: ``pool_3``, the 2048-d global average pool (FID, precision and
  recall);
- ``spatial``: the first 7 channels of ``mixed_6/conv`` (the 1x1 branch of
  Mixed_6d, 17 x 17), flattened to 2023-d (sFID);
- ``logits``: the 1008 logits whose softmax gives the Inception Score,
  ``pool_3 @ Wᵀ`` without the bias, as ADM (it multiplies by the weight of
  ``softmax/logits/MatMul`` only).

The input follows the graph too: TF1's legacy bilinear resize to 299 and
(255·x − 128) / 128.
"""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.inception import (Inception3, InceptionA, InceptionC,
                                          InceptionE)

from rgl.utils import load_state_dict_file
from rgl.utils.errors import DataError


def tf_legacy_resize_bilinear(x, size):
    """TF1 ``tf.image.resize_bilinear`` (align_corners=False, no half-pixel
    centres), which the FID graph applies to its input: output pixel i reads
    source coordinate i · in/out, clamped at the last row/column. PyTorch's
    ``interpolate`` uses half-pixel centres, which shifts the image.
    Separable: rows, then columns."""
    def axis_weights(n_in, n_out):
        src = torch.arange(n_out, dtype=torch.float64) * (n_in / n_out)
        lo = src.floor().long().clamp_(max=n_in - 1)
        hi = (lo + 1).clamp_(max=n_in - 1)
        frac = (src - lo).to(x.dtype).to(x.device)
        return lo.to(x.device), hi.to(x.device), frac

    (h_out, w_out), (h_in, w_in) = size, x.shape[-2:]
    lo, hi, f = axis_weights(h_in, h_out)
    x = x[..., lo, :] * (1 - f)[:, None] + x[..., hi, :] * f[:, None]
    lo, hi, f = axis_weights(w_in, w_out)
    return x[..., lo] * (1 - f) + x[..., hi] * f


def _avg_pool_no_pad(x):
    # TF's AvgPool with SAME padding divides by the number of real pixels
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class _FIDInceptionA(InceptionA):

    def _forward(self, x):
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return [self.branch1x1(x), b5, b3,
                self.branch_pool(_avg_pool_no_pad(x))]


class _FIDInceptionC(InceptionC):

    def _forward(self, x):
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3,
                      self.branch7x7dbl_4, self.branch7x7dbl_5):
            bd = layer(bd)
        return [self.branch1x1(x), b7, bd,
                self.branch_pool(_avg_pool_no_pad(x))]


class _FIDInceptionE(InceptionE):
    """``max_pool=True`` is the graph's last block (mixed_10)."""

    def __init__(self, in_channels, max_pool=False):
        super().__init__(in_channels)
        self.max_pool = max_pool

    def _forward(self, x):
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)],
                       1)
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool \
            else _avg_pool_no_pad(x)
        return [self.branch1x1(x), b3, bd, self.branch_pool(pooled)]


class FIDInceptionV3(nn.Module):
    """Inception-v3 of FID/ADM; ``forward(x)`` on images in [0, 1] (any
    size, resized to 299 as the TF graph does) returns ``dict(pool,
    spatial, logits)``.

    Args:
        checkpoint (str, optional): local ``pt_inception-2015-12-05`` file;
            ``None`` keeps random weights (tests only).
    """

    def __init__(self, checkpoint=None):
        super().__init__()
        net = Inception3(num_classes=1008, aux_logits=False,
                         transform_input=False, init_weights=False)
        net.Mixed_5b = _FIDInceptionA(192, pool_features=32)
        net.Mixed_5c = _FIDInceptionA(256, pool_features=64)
        net.Mixed_5d = _FIDInceptionA(288, pool_features=64)
        net.Mixed_6b = _FIDInceptionC(768, channels_7x7=128)
        net.Mixed_6c = _FIDInceptionC(768, channels_7x7=160)
        net.Mixed_6d = _FIDInceptionC(768, channels_7x7=160)
        net.Mixed_6e = _FIDInceptionC(768, channels_7x7=192)
        net.Mixed_7b = _FIDInceptionE(1280)
        net.Mixed_7c = _FIDInceptionE(2048, max_pool=True)
        self.net = net
        if checkpoint is not None:
            from rgl.models.encoders.base import check_state_dict
            check_state_dict(net, load_state_dict_file(checkpoint),
                             checkpoint, 'FIDInceptionV3')
        self.requires_grad_(False).eval()

    @torch.no_grad()
    def forward(self, x):
        n = self.net
        x = tf_legacy_resize_bilinear(x.float() * 255, (299, 299))
        x = (x - 128) / 128  # the graph's scaling of [0, 255]
        for name in ('Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3',
                     'maxpool1', 'Conv2d_3b_1x1', 'Conv2d_4a_3x3',
                     'maxpool2', 'Mixed_5b', 'Mixed_5c', 'Mixed_5d',
                     'Mixed_6a', 'Mixed_6b', 'Mixed_6c'):
            x = getattr(n, name)(x)
        # mixed_6/conv: Mixed_6d's 1x1 branch (after ReLU), 7 channels,
        # flattened in the graph's NHWC order
        spatial = n.Mixed_6d.branch1x1(x)[:, :7].permute(0, 2, 3, 1)
        for name in ('Mixed_6d', 'Mixed_6e', 'Mixed_7a', 'Mixed_7b',
                     'Mixed_7c'):
            x = getattr(n, name)(x)
        pool = x.mean(dim=(2, 3))
        return dict(pool=pool, spatial=spatial.flatten(1),
                    logits=pool @ n.fc.weight.T)


def extract_inception_features(model, images, batch_size=100, device=None,
                               desc='inception'):
    """Features of uint8 images (N, H, W, 3) (the ADM .npz ``arr_0``),
    batched, with a progress bar; returns numpy ``pool`` (N, 2048),
    ``spatial`` (N, 2023) and ``softmax`` (N, 1008)."""
    from tqdm import tqdm
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise DataError(f'expected uint8 images (N, H, W, 3), got shape '
                        f'{images.shape}')
    device = device or next(model.parameters()).device
    out = dict(pool=[], spatial=[], softmax=[])
    for i in tqdm(range(0, len(images), batch_size), desc=desc,
                  leave=False):
        batch = torch.from_numpy(images[i:i + batch_size]).to(device)
        batch = batch.permute(0, 3, 1, 2).float() / 255
        feats = model(batch)
        out['pool'].append(feats['pool'].double().cpu().numpy())
        out['spatial'].append(feats['spatial'].double().cpu().numpy())
        out['softmax'].append(
            feats['logits'].double().softmax(-1).cpu().numpy())
    return {k: np.concatenate(v) for k, v in out.items()}
