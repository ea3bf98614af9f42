"""Loading checkpoints without executing pickled code.

torch >= 2.6 loads with ``weights_only=True``: only tensors, containers and
allow-listed classes are unpickled. mmengine 0.10.7 stores a ``HistoryBuffer``
and numpy arrays/scalars in its checkpoints (message hub, RNG state), which the
default allow-list refuses, so ``--resume`` fails. We allow exactly those
types and nothing else; ``weights_only`` is never switched off.

Importing :mod:`rgl` calls :func:`register_safe_globals` and routes mmengine's
local checkpoint loader through :func:`load_checkpoint_file`, which turns
missing, truncated, corrupted or unsafe files into one
:class:`~rgl.utils.errors.CheckpointError` that names the file.
"""
import os
import pickle
import zipfile

import numpy as np
import torch

from .errors import CheckpointError

_REGISTERED = False


def _numpy_safe_globals():
    """numpy's reconstructors, ndarray/dtype and the concrete dtype classes
    that ``pickle`` of arrays and numpy scalars refers to."""
    try:  # numpy >= 2
        from numpy._core import multiarray
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray
    found = [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype]
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:  # numpy >= 1.25: one class per dtype
        found += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType') and isinstance(getattr(dtypes, name),
                                                     type)
        ]
    return found


_HISTORY_BUFFER_STATISTICS = frozenset({'min', 'max', 'current', 'mean'})


def _history_buffer_getattr(obj, name):
    """Stands in for ``builtins.getattr`` while unpickling.

    ``HistoryBuffer.__getstate__`` pickles its statistics as
    ``getattr(HistoryBuffer, 'mean')`` etc. Only those four lookups on that
    one class are answered; any other use of ``getattr`` in a pickle (the
    usual first step of an exploit) is refused.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_STATISTICS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'refused getattr({type(obj).__name__}, {name!r}) in a checkpoint')


def safe_globals():
    """What rgl allows the ``weights_only`` unpickler to construct: mmengine's
    ``HistoryBuffer`` (with its four statistics), numpy arrays, dtypes and
    scalars."""
    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')
            ] + _numpy_safe_globals()


def register_safe_globals():
    """Allow-list :func:`safe_globals` for every ``torch.load`` in this
    process and route mmengine's local loader through the safe loader."""
    global _REGISTERED
    if _REGISTERED:
        return
    torch.serialization.add_safe_globals(safe_globals())
    _route_mmengine_local_loader()
    _REGISTERED = True


def _route_mmengine_local_loader():
    from mmengine.runner.checkpoint import CheckpointLoader

    def load_from_local(filename, map_location):
        filename = os.path.expanduser(filename)
        return load_checkpoint_file(filename, map_location=map_location)

    # '' is the prefix of plain local paths in mmengine's scheme table.
    CheckpointLoader._register_scheme('', load_from_local, force=True)


def load_checkpoint_file(path, map_location='cpu'):
    """``torch.load`` with ``weights_only=True`` and clear errors.

    Args:
        path (str | os.PathLike): a local checkpoint file.
        map_location: as in :func:`torch.load`.

    Raises:
        CheckpointError: the file is missing, not a torch checkpoint,
            truncated, or holds objects that would run code when unpickled.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f'checkpoint file not found: {path}')
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        first = _first_line(err)
        if 'weights_only' in str(err) or 'global' in str(err).lower():
            raise CheckpointError(
                f'{path}: refused to unpickle an object that is not an '
                f'allowed tensor, container or number ({first}). rgl never '
                'executes pickled code from checkpoints; if you wrote this '
                'file yourself, re-save its state_dict with torch.save.'
            ) from None
        raise CheckpointError(
            f'{path}: corrupted checkpoint ({first})') from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError,
            OSError) as err:
        first = _first_line(err)
        raise CheckpointError(
            f'{path}: truncated or corrupted checkpoint ({first})') from None


def _first_line(err):
    """The informative line of a torch.load error (torch puts the refused
    global after a long preamble)."""
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    for line in lines:
        if 'unsupported global' in line.lower() or 'refus' in line:
            return line
    return lines[0][:200] if lines else type(err).__name__


def load_state_dict_file(path, key=None, map_location='cpu'):
    """Load a checkpoint and return the state dict stored under ``key``.

    With ``key=None`` the first of ``'state_dict'``, ``'model'``,
    ``'module'`` present is used, else the file itself must be a state dict.
    """
    ckpt = load_checkpoint_file(path, map_location=map_location)
    if key is not None:
        if key not in ckpt:
            raise CheckpointError(f'{path}: no entry `{key}` (has '
                                  f'{sorted(ckpt)[:10]})')
        return ckpt[key]
    for candidate in ('state_dict', 'model', 'module'):
        if isinstance(ckpt, dict) and candidate in ckpt \
                and isinstance(ckpt[candidate], dict):
            return ckpt[candidate]
    return ckpt
