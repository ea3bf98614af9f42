"""Modality-agnostic tokenisers of MetaMAE (Jang et al., NeurIPS 2023).

A tokeniser turns one modality into a sequence of T tokens ``(N, T, D)``
and back into the reconstruction targets of the masked auto-encoder. It
also says how its tokens are laid out (:attr:`grid`: ``(T,)`` for a line,
``(H', W')`` for an image), which the support mask of MetaMAE uses for
adjacency. The same encoder/decoder then serves every modality:

=======================  =====================  ======  =================
tokeniser                input                  grid    target / loss
=======================  =====================  ======  =================
ImagePatchTokenizer      ``(N, C, H, W)``       2-D     patch pixels, MSE
SequencePatchTokenizer   ``(N, C, L)``          1-D     segment values, MSE
TabularTokenizer         ``(N, F)``             1-D     feature value, MSE
TokenIdTokenizer         ``(N, L)`` int ids     1-D     id, CE (tied head)
=======================  =====================  ======  =================
"""
import torch.nn.functional as F
from torch import nn

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError, DataError


def _positive_int(value, key):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f'{key} must be a positive int, got {value!r}')
    return value


def _divides(patch, size, patch_key, size_key):
    if size % patch:
        raise ConfigError(
            f'{patch_key}={patch} does not divide {size_key}={size}: the '
            f'input must split into whole patches (pick a divisor of {size})')
    return size // patch


class BaseTokenizer(nn.Module):
    """Interface shared by the tokenisers.

    Attributes:
        embed_dim (int): D, the width of the tokens.
        grid (tuple[int]): the token layout, ``(T,)`` or ``(H', W')``.
        num_tokens (int): T = prod(grid).
        pred_dim (int): width of the decoder head's output per token.
        discrete (bool): True when targets are class ids (CE loss).
    """

    discrete = False

    def __init__(self, embed_dim):
        super().__init__()
        self.embed_dim = _positive_int(embed_dim, 'tokenizer.embed_dim')

    @property
    def num_tokens(self):
        n = 1
        for g in self.grid:
            n *= g
        return n

    def target(self, x):
        """Reconstruction target per token: ``(N, T, pred_dim)`` floats or
        ``(N, T)`` ids."""
        raise NotImplementedError

    def to_prediction(self, out):
        """Decoder head output ``(N, T, pred_dim)`` → prediction. Identity
        except for the tied token-id head."""
        return out

    def token_loss(self, pred, target):
        """Per-token reconstruction loss ``(N, T)``: the mean squared error
        over a patch's values (CE for ids)."""
        return (pred - target).pow(2).mean(dim=-1)

    def _check(self, x, shape, what):
        if tuple(x.shape[1:]) != tuple(shape):
            raise DataError(
                f'{type(self).__name__} expects {what} of shape '
                f'(N, {", ".join(map(str, shape))}), got {tuple(x.shape)}')


@MODELS.register_module()
class ImagePatchTokenizer(BaseTokenizer):
    """Non-overlapping p_h × p_w patches of ``(N, C, H, W)`` images.

    The target of a patch is its pixels in (p_h, p_w, C) order, as MAE's
    ``patchify``.

    Args:
        img_size (int | tuple[int, int]): H, W.
        patch_size (int | tuple[int, int]): p_h, p_w; must divide H, W.
        in_channels (int): C.
        embed_dim (int): D.
    """

    def __init__(self, img_size, patch_size, in_channels=3, embed_dim=256):
        super().__init__(embed_dim)
        h, w = (img_size, img_size) if isinstance(img_size, int) \
            else tuple(img_size)
        ph, pw = (patch_size, patch_size) if isinstance(patch_size, int) \
            else tuple(patch_size)
        for v, k in ((h, 'img_size'), (w, 'img_size'), (ph, 'patch_size'),
                     (pw, 'patch_size')):
            _positive_int(v, f'tokenizer.{k}')
        self.in_channels = _positive_int(in_channels, 'tokenizer.in_channels')
        self.img_size, self.patch_size = (h, w), (ph, pw)
        self.grid = (_divides(ph, h, 'tokenizer.patch_size', 'img_size (H)'),
                     _divides(pw, w, 'tokenizer.patch_size', 'img_size (W)'))
        self.pred_dim = ph * pw * self.in_channels
        self.proj = nn.Conv2d(self.in_channels, embed_dim, (ph, pw),
                              stride=(ph, pw))

    def forward(self, x):
        self._check(x, (self.in_channels, ) + self.img_size, 'images')
        return self.proj(x).flatten(2).transpose(1, 2)

    def target(self, x):
        n, c = x.shape[:2]
        (gh, gw), (ph, pw) = self.grid, self.patch_size
        x = x.reshape(n, c, gh, ph, gw, pw).permute(0, 2, 4, 3, 5, 1)
        return x.reshape(n, gh * gw, ph * pw * c)


@MODELS.register_module()
class SequencePatchTokenizer(BaseTokenizer):
    """Segments of p consecutive steps of a ``(N, C, L)`` sequence (time
    series such as DABS PAMAP2: C = 52 sensors, L = 320, p = 5).

    The target of a segment is its values in (p, C) order.

    Args:
        seq_len (int): L.
        patch_size (int): p; must divide L.
        in_channels (int): C.
        embed_dim (int): D.
    """

    def __init__(self, seq_len, patch_size, in_channels=1, embed_dim=256):
        super().__init__(embed_dim)
        self.seq_len = _positive_int(seq_len, 'tokenizer.seq_len')
        self.patch_size = _positive_int(patch_size, 'tokenizer.patch_size')
        self.in_channels = _positive_int(in_channels, 'tokenizer.in_channels')
        self.grid = (_divides(self.patch_size, self.seq_len,
                              'tokenizer.patch_size', 'seq_len'), )
        self.pred_dim = self.patch_size * self.in_channels
        self.proj = nn.Conv1d(self.in_channels, embed_dim, self.patch_size,
                              stride=self.patch_size)

    def _as_sequence(self, x):
        self._check(x, (self.in_channels, self.seq_len), 'sequences')
        return x

    def forward(self, x):
        return self.proj(self._as_sequence(x)).transpose(1, 2)

    def target(self, x):
        x = self._as_sequence(x)
        n, c = x.shape[:2]
        x = x.reshape(n, c, self.grid[0], self.patch_size).permute(0, 2, 3, 1)
        return x.reshape(n, self.grid[0], self.patch_size * c)


@MODELS.register_module()
class TabularTokenizer(SequencePatchTokenizer):
    """One token per feature of a ``(N, F)`` table row (patch 1; DABS HIGGS:
    F = 28). Rows of shape ``(N, 1, F)`` are accepted too.

    Args:
        num_features (int): F.
        embed_dim (int): D.
    """

    def __init__(self, num_features, embed_dim=256):
        super().__init__(seq_len=_positive_int(num_features,
                                               'tokenizer.num_features'),
                         patch_size=1, in_channels=1, embed_dim=embed_dim)
        self.num_features = num_features

    def _as_sequence(self, x):
        if x.dim() == 2:
            x = x.unsqueeze(1)
        self._check(x, (1, self.num_features), 'rows (N, F) or')
        return x


@MODELS.register_module()
class TokenIdTokenizer(BaseTokenizer):
    """Integer token ids ``(N, L)`` (DNA bases, amino acids, words): one
    embedding per id, and a decoder head tied to the same embedding matrix,
    so the logits are ``h · Eᵀ`` with ``h`` the decoder's per-token output
    projected to D.

    Args:
        vocab_size (int): V.
        seq_len (int): L.
        embed_dim (int): D.
    """

    discrete = True

    def __init__(self, vocab_size, seq_len, embed_dim=256):
        super().__init__(embed_dim)
        self.vocab_size = _positive_int(vocab_size, 'tokenizer.vocab_size')
        self.seq_len = _positive_int(seq_len, 'tokenizer.seq_len')
        self.grid = (self.seq_len, )
        self.pred_dim = embed_dim
        self.proj = nn.Embedding(self.vocab_size, embed_dim)

    def _ids(self, x):
        if x.is_floating_point():
            raise DataError('TokenIdTokenizer expects integer token ids, got '
                            f'a {x.dtype} tensor')
        self._check(x, (self.seq_len, ), 'token ids')
        return x.long()

    def forward(self, x):
        ids = self._ids(x)
        if ids.numel() and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise DataError(f'token ids must lie in [0, {self.vocab_size}) '
                            f'(tokenizer.vocab_size), got '
                            f'[{int(ids.min())}, {int(ids.max())}]')
        return self.proj(ids)

    def target(self, x):
        return self._ids(x)

    def to_prediction(self, out):
        return out @ self.proj.weight.t()  # (N, T, V): the tied head

    def token_loss(self, pred, target):
        return F.cross_entropy(pred.transpose(1, 2), target,
                               reduction='none')


def grid_of(tokenizer):
    """The token grid of a tokeniser, checked to be 1-D or 2-D."""
    grid = tuple(int(g) for g in tokenizer.grid)
    if len(grid) not in (1, 2):
        raise ConfigError(f'{type(tokenizer).__name__}.grid must be 1-D or '
                          f'2-D, got {grid}')
    return grid
