"""Pre-extracted VAE latents (tools/extract_latents.py) as a dataset.

On-disk layout of a latent folder::

    index.json        written last: shards, counts, VAE scaling, options
    meta.json         the extraction options (checked when a run resumes)
    shard_00000.pt    dict of tensors for images [0, S), S = shard_size
    shard_00001.pt    ...

A shard holds ``moments`` (n, 2C, h, w) = cat(μ, σ) of q(z|x) in float32,
``labels`` (n,), ``indices`` (n,) (positions in the image folder), and
optionally ``moments_flip`` (the horizontally flipped image), ``images``
uint8 (n, 3, H, W) (the centre-cropped pixels the REPA encoders see), and
``features.<name>`` (n, T, D) pre-extracted encoder tokens (with
``features_flip.<name>``). Shards are plain tensors: they load with
``weights_only=True`` (memory-mapped).
"""
import json
import os
import os.path as osp
import random

import torch
from mmpretrain.structures import DataSample
from torch.utils.data import Dataset

from rgl.registry import DATASETS
from rgl.utils.errors import ConfigError, DataError

INDEX_FILE = 'index.json'
META_FILE = 'meta.json'
#: what the items' ``inputs`` are, declared to the generative models
INPUT_SPACE = 'latent'


def adm_center_crop(pil_image, size):
    """ADM's ``center_crop_arr``: halve with a box filter while the short
    side is at least 2·size, bicubic-resize the short side to size, crop
    the centre; returns a uint8 (size, size, 3) array."""
    import numpy as np
    from PIL import Image
    while min(*pil_image.size) >= 2 * size:
        pil_image = pil_image.resize(
            tuple(x // 2 for x in pil_image.size), resample=Image.BOX)
    scale = size / min(*pil_image.size)
    pil_image = pil_image.resize(
        tuple(round(x * scale) for x in pil_image.size),
        resample=Image.BICUBIC)
    arr = np.asarray(pil_image)
    top, left = (arr.shape[0] - size) // 2, (arr.shape[1] - size) // 2
    return arr[top:top + size, left:left + size]


def load_crop(path, size):
    """The ADM crop of the image at ``path`` as uint8 (3, size, size)."""
    from PIL import Image
    try:
        with Image.open(path) as im:
            arr = adm_center_crop(im.convert('RGB'), size)
    except OSError as err:
        raise DataError(f'cannot read image {path}: {err}') from None
    return torch.from_numpy(arr.copy()).permute(2, 0, 1)


def shard_name(i):
    return f'shard_{i:05d}.pt'


def write_shard(path, tensors):
    """Write atomically: a killed run leaves no half-written shard."""
    tmp = f'{path}.tmp{os.getpid()}'
    torch.save({k: v.contiguous() for k, v in tensors.items()}, tmp)
    os.replace(tmp, path)


def read_shard(path, mmap=True):
    """Load a shard, or raise :class:`DataError` naming it."""
    if not osp.isfile(path):
        raise DataError(f'latent shard missing: {path} (re-run '
                        f'tools/extract_latents.py with the same arguments '
                        f'to complete the folder)')
    try:
        shard = torch.load(path, map_location='cpu', weights_only=True,
                           mmap=mmap)
    except Exception as err:  # torch raises many types for bad files
        raise DataError(f'latent shard corrupted: {path} '
                        f'({str(err).splitlines()[0][:160]}); delete it and '
                        f're-run tools/extract_latents.py to redo it') \
            from None
    if not isinstance(shard, dict) or 'moments' not in shard:
        raise DataError(f'latent shard corrupted: {path} has no `moments`')
    return shard


def read_index(root):
    path = osp.join(root, INDEX_FILE)
    if not osp.isdir(root):
        raise DataError(f'LatentDataset.data_root is not a folder: {root}')
    if not osp.isfile(path):
        raise DataError(f'{path} not found: the extraction did not finish '
                        f'(re-run tools/extract_latents.py to resume it)')
    with open(path) as f:
        return json.load(f)


@DATASETS.register_module()
class LatentDataset(Dataset):
    """Latents z = s · (μ + σ ε), ε ~ N(0, I), drawn anew at every access
    from the stored moments (REPA's ``sample_posterior``; s = 0.18215).

    ``__getitem__`` returns ``dict(inputs=z (C, h, w), data_samples=
    DataSample(gt_label, sample_idx, input_space='latent'))`` plus
    ``images`` (uint8 (3, H, W)) and ``features`` (a list of (T, D)
    tensors, one per name in ``features``). The items declare their
    ``inputs`` as latents (``input_space='latent'`` in the data sample's and
    the dataset's metainfo), so a generative model neither encodes them
    again nor takes them for images.

    Args:
        data_root (str): a folder written by tools/extract_latents.py.
        flip (str): ``'none'``; ``'random'`` uses the stored flipped
            latents (and flips image/features alike) with probability 0.5.
        with_images (bool, optional): return the raw images: the stored
            crops (``--save-images``), else the ADM crops of the source
            image folder recorded in the index. ``True`` requires them (an
            error when neither exists), ``False`` never reads them, ``None``
            (default) returns them when available.
        features (Sequence[str]): pre-extracted encoder features to return.
        sample_posterior (bool): draw z; ``False`` returns s · μ.
        scaling_factor (float, optional): overrides the VAE's s.
    """

    def __init__(self, data_root, flip='none', with_images=None,
                 features=(), sample_posterior=True, scaling_factor=None):
        self.data_root = data_root
        self.index = read_index(data_root)
        if flip not in ('none', 'random'):
            raise ConfigError(f"LatentDataset.flip must be 'none' or "
                              f"'random', got {flip!r}")
        if flip == 'random' and not self.index.get('flip'):
            raise ConfigError(f'LatentDataset.flip=random: {data_root} has '
                              f'no flipped latents (extract with --flip)')
        missing = [f for f in features
                   if f not in self.index.get('features', [])]
        if missing:
            raise ConfigError(f'LatentDataset.features: {missing} not in '
                              f'{data_root} (has '
                              f'{self.index.get("features", [])})')
        self.flip, self.features = flip, list(features)
        self.stored_images = bool(self.index.get('images'))
        self._source = None
        if with_images is not False and not self.stored_images:
            self._source = self._source_images()
            if with_images and self._source is None:
                raise DataError(
                    f'LatentDataset.with_images=True but {data_root} stores '
                    f'no image crops (its shards, e.g. {shard_name(0)}, were '
                    f'extracted without --save-images) and the source image '
                    f'folder recorded in its {INDEX_FILE} '
                    f'({self.index.get("data_root")!r}) does not exist: '
                    f're-extract with --save-images, restore that folder, '
                    f'or set with_images=False (e.g. with pre-extracted '
                    f'`features`)')
        self.with_images = bool(with_images is not False and (
            self.stored_images or self._source is not None))
        self.sample_posterior = sample_posterior
        self.scaling_factor = float(scaling_factor or
                                    self.index['scaling_factor'])
        self.shift_factor = float(self.index.get('shift_factor', 0.0))
        self.shard_size = int(self.index['shard_size'])
        self.counts = [int(c) for c in self.index['counts']]
        self.classes = tuple(self.index.get('classes', ()))
        for i in range(len(self.counts)):
            path = osp.join(data_root, shard_name(i))
            if not osp.isfile(path):
                raise DataError(f'latent shard missing: {path} (index lists '
                                f'{len(self.counts)} shards)')
        self._shards = {}

    def _source_images(self):
        root = self.index.get('data_root')
        if not root or not osp.isdir(root):
            return None
        from .image_folder import ImageFolderDataset
        paths = [p for p, _ in ImageFolderDataset(
            root, split=self.index.get('split')).samples]
        if len(paths) != self.index['num_images']:
            raise DataError(f'{root} now holds {len(paths)} images, the '
                            f'latents in {self.data_root} were extracted '
                            f'from {self.index["num_images"]}')
        return paths

    @property
    def metainfo(self):
        return dict(classes=self.classes, input_space=INPUT_SPACE)

    def __len__(self):
        return sum(self.counts)

    def _shard(self, i):
        if i not in self._shards:
            shard = read_shard(osp.join(self.data_root, shard_name(i)))
            if len(shard['moments']) != self.counts[i]:
                raise DataError(
                    f'latent shard corrupted: '
                    f'{osp.join(self.data_root, shard_name(i))} holds '
                    f'{len(shard["moments"])} latents, index says '
                    f'{self.counts[i]}')
            self._shards[i] = shard
        return self._shards[i]

    def __getitem__(self, idx):
        if not 0 <= idx < len(self):
            raise IndexError(idx)
        s, j = divmod(idx, self.shard_size)
        shard = self._shard(s)
        flipped = self.flip == 'random' and random.random() < 0.5
        key = 'moments_flip' if flipped else 'moments'
        mean, std = shard[key][j].float().chunk(2, dim=0)
        z = mean + std * torch.randn_like(std) if self.sample_posterior \
            else mean
        out = dict(inputs=(z - self.shift_factor) * self.scaling_factor)
        if self.with_images:
            img = shard['images'][j] if self.stored_images else load_crop(
                self._source[int(shard['indices'][j])],
                self.index['resolution'])
            out['images'] = img.flip(-1) if flipped else img.clone()
        if self.features:
            prefix = 'features_flip.' if flipped else 'features.'
            out['features'] = [shard[prefix + f][j].float()
                               for f in self.features]
        sample = DataSample(metainfo=dict(sample_idx=idx, flipped=flipped,
                                          input_space=INPUT_SPACE))
        sample.set_gt_label(int(shard['labels'][j]))
        out['data_samples'] = sample
        return out
