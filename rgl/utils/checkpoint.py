"""Loading checkpoints without executing pickled code.

torch >= 2.6 loads with ``weights_only=True``: only tensors, containers and
allow-listed classes are unpickled. mmengine 0.10.7 stores a ``HistoryBuffer``
and numpy arrays/scalars in its checkpoints (message hub, RNG state), which the
default allow-list refuses, so ``--resume`` fails. We allow exactly those
types and nothing else; ``weights_only`` is never switched off.

Importing :mod:`rgl` calls :func:`register_safe_globals` and routes mmengine's
local checkpoint loader through :func:`load_checkpoint_file`, which turns
missing, truncated, corrupted, unsafe or non-torch files into one
:class:`~rgl.utils.errors.CheckpointError` that names the file. Every load
through this module registers what it needs itself, so it does not depend on
``rgl/__init__`` having run.

Weights go into a model strictly (:func:`load_model_weights`,
:class:`StrictLoadHook` for a Runner's ``load_from``): a missing, unexpected
or differently shaped key is one error naming the file and the first keys.
Non-strict loading is an explicit choice and still lists what it skipped.
"""
import os
import pickle
import re
import warnings
import zipfile
from collections import OrderedDict

import numpy as np
import torch
from mmengine.hooks import Hook

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
    process and route mmengine's local loader through the safe loader.

    Idempotent and self-healing: it re-adds what is missing (e.g. after
    ``torch.serialization.clear_safe_globals()``). ``import rgl`` calls it,
    and so does every load through this module, so loading never depends
    on ``rgl/__init__`` having run.
    """
    global _REGISTERED
    _ensure_allow_list()
    _route_mmengine_local_loader()
    _REGISTERED = True


def _ensure_allow_list():
    current = torch.serialization.get_safe_globals()
    missing = [g for g in safe_globals() if g not in current]
    if missing:
        torch.serialization.add_safe_globals(missing)


def _load_from_local(filename, map_location):
    """mmengine's local scheme, routed through :func:`load_checkpoint_file`."""
    filename = os.path.expanduser(filename)
    return load_checkpoint_file(filename, map_location=map_location)


def _route_mmengine_local_loader():
    from mmengine.runner.checkpoint import CheckpointLoader

    # '' is the prefix of plain local paths in mmengine's scheme table.
    if CheckpointLoader._schemes.get('') is not _load_from_local:
        CheckpointLoader._register_scheme('', _load_from_local, force=True)


# torch.save's two layouts: a zip archive (torch >= 1.6) or a pickle stream
# that starts with torch's magic number (legacy, _use_new_zipfile=False).
_ZIP_MAGIC = b'PK\x03\x04'
_LEGACY_MAGIC = (0x1950a86a20f9469cfc6c).to_bytes(10, 'little')


def _torch_format(path):
    """'zip', 'legacy' or None (not written by ``torch.save``)."""
    with open(path, 'rb') as f:
        head = f.read(64)
    if head.startswith(_ZIP_MAGIC):
        return 'zip'
    if head.startswith(b'\x80') and _LEGACY_MAGIC in head:
        return 'legacy'
    return None


def load_checkpoint_file(path, map_location='cpu'):
    """``torch.load`` with ``weights_only=True`` and clear errors; a
    ``.safetensors`` file is read with safetensors (it holds no pickle).

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
    if path.endswith('.safetensors'):  # no pickle at all: safe by design
        return _load_safetensors(path, map_location)
    register_safe_globals()  # also when rgl/__init__ never ran
    try:
        kind = _torch_format(path)
    except OSError as err:
        raise CheckpointError(f'{path}: cannot read the checkpoint '
                              f'({err.strerror or err})') from None
    if kind is None:
        size = os.path.getsize(path)
        raise CheckpointError(
            f'{path}: not a torch checkpoint ('
            + ('the file is empty' if size == 0 else
               f'{size} bytes that are neither a torch.save zip archive '
               'nor a legacy torch file') + ')')
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        first = _first_line(err)
        if 'global' in str(err).lower():
            raise CheckpointError(
                f'{path}: refused to unpickle an object that is not an '
                f'allowed tensor, container or number ({first}). rgl never '
                'executes pickled code from checkpoints; if you wrote this '
                'file yourself, re-save its state_dict with torch.save.'
            ) from None
        raise CheckpointError(
            f'{path}: corrupted checkpoint, or a pickle the weights-only '
            f'unpickler cannot read ({first})') from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError,
            OSError) as err:
        first = _first_line(err)
        raise CheckpointError(
            f'{path}: truncated or corrupted checkpoint ({first})') from None


def _load_safetensors(path, map_location):
    """A ``.safetensors`` file (timm and transformers releases) as a
    state dict."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    device = map_location if isinstance(map_location, str) else 'cpu'
    try:
        return load_file(path, device=device)
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(
            f'{path}: not a valid safetensors file ({_first_line(err)})'
        ) from None


def _first_line(err):
    """The informative line of a torch.load error (torch puts the refused
    global after a long preamble)."""
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    for line in lines:
        low = line.lower()
        if 'unsupported global' in low or low.startswith('unsupported') \
                or 'refus' in line:
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


# -- strict loading into a model ---------------------------------------------

_MODULE_PREFIX = re.compile(r'^module\.')


def state_dict_of(checkpoint):
    """The weights of a loaded checkpoint: its ``state_dict`` entry when it
    has one (mmengine), else the dict itself; a DDP ``module.`` prefix is
    removed, as mmengine's loader does (torch's ``_metadata`` is kept)."""
    state = checkpoint
    if isinstance(checkpoint, dict) and isinstance(
            checkpoint.get('state_dict'), dict):
        state = checkpoint['state_dict']
    revised = OrderedDict(
        (_MODULE_PREFIX.sub('', k), v) for k, v in state.items())
    metadata = getattr(state, '_metadata', None)
    if metadata is not None:
        revised._metadata = OrderedDict(
            (_MODULE_PREFIX.sub('', k), v) for k, v in metadata.items())
    return revised


def compare_state_dict(model, state):
    """Keys of ``model`` absent from ``state`` (missing), keys of ``state``
    the model does not have (unexpected), and ``(key, checkpoint shape,
    model shape)`` of entries whose shapes differ.

    A missing BatchNorm ``num_batches_tracked`` counter is not reported:
    checkpoints of older torch versions lack it and torch fills it in.
    """
    own = model.state_dict()
    missing = [k for k in own if k not in state
               and not k.endswith('.num_batches_tracked')]
    unexpected = [k for k in state if k not in own]
    mismatched = [(k, tuple(state[k].shape), tuple(own[k].shape))
                  for k in own if k in state and hasattr(state[k], 'shape')
                  and tuple(state[k].shape) != tuple(own[k].shape)]
    return missing, unexpected, mismatched


def describe_mismatch(missing, unexpected, mismatched, first=3):
    """One line: the counts and the first keys of each kind."""

    def keys(items):
        shown = ', '.join(repr(k) for k in items[:first])
        return shown + (', ...' if len(items) > first else '')

    parts = []
    if mismatched:
        shown = ', '.join(f'{k!r} (checkpoint {list(c)}, model {list(m)})'
                          for k, c, m in mismatched[:first])
        parts.append(f'{len(mismatched)} with another shape: {shown}'
                     + (', ...' if len(mismatched) > first else ''))
    if missing:
        parts.append(f'{len(missing)} missing: {keys(missing)}')
    if unexpected:
        parts.append(f'{len(unexpected)} unexpected: {keys(unexpected)}')
    return '; '.join(parts)


def check_state_dict(model, state, path, strict=True, hint=None):
    """Raise (strict) or warn (non-strict) when ``state`` does not fit
    ``model`` key for key and shape for shape.

    Args:
        model (nn.Module): the model the weights are meant for.
        state (dict): the weights (see :func:`state_dict_of`).
        path (str): the checkpoint file, named in the message.
        strict (bool): raise :class:`CheckpointError` on any mismatch;
            with False, warn with what will be skipped.
        hint (str, optional): how to load non-strictly in this context
            (e.g. ``'pass --non-strict'``), appended to the error.

    Returns:
        tuple: ``(missing, unexpected, mismatched)``.
    """
    missing, unexpected, mismatched = compare_state_dict(model, state)
    if not (missing or unexpected or mismatched):
        return missing, unexpected, mismatched
    what = describe_mismatch(missing, unexpected, mismatched)
    if strict:
        raise CheckpointError(
            f'{path} does not match the model ({what})'
            + (f'; if that is intended, {hint}' if hint else ''))
    warnings.warn(f'{path}: loading non-strictly, skipped {what}',
                  stacklevel=2)
    return missing, unexpected, mismatched


def load_model_weights(model, checkpoint, strict=True, key=None, hint=None):
    """Load a checkpoint file into ``model`` through the safe loader.

    Args:
        model (nn.Module): the model to fill.
        checkpoint (str): a checkpoint file (mmengine's, with
            ``state_dict``, or a plain state dict).
        strict (bool): every key and shape must match (default); with
            False the matching entries are loaded and the rest is skipped
            with a warning that lists it.
        key (str, optional): the entry holding the weights, as in
            :func:`load_state_dict_file`.
        hint (str, optional): see :func:`check_state_dict`.

    Returns:
        tuple: ``(missing, unexpected, mismatched)`` (empty when strict).
    """
    state = state_dict_of(load_state_dict_file(checkpoint, key=key))
    report = check_state_dict(model, state, checkpoint, strict=strict,
                              hint=hint)
    for key, _, _ in report[2]:
        del state[key]  # torch refuses other shapes even when not strict
    model.load_state_dict(state, strict=False)  # checked above
    return report


class StrictLoadHook(Hook):
    """Makes an mmengine Runner's ``load_from`` strict.

    ``Runner.load_checkpoint`` loads non-strictly by default: a checkpoint of
    another architecture would be evaluated silently. This hook runs after
    the other hooks' ``after_load_checkpoint`` (e.g. EMA swaps) and checks
    the weights about to be loaded against the runner's model.

    Args:
        path (str): the checkpoint file (named in the error).
        strict (bool): False only warns, listing what is skipped.
        hint (str, optional): see :func:`check_state_dict`.
    """
    priority = 'LOWEST'

    def __init__(self, path, strict=True, hint=None):
        self.path, self.strict, self.hint = path, strict, hint

    def after_load_checkpoint(self, runner, checkpoint):
        from mmengine.model import is_model_wrapper
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        check_state_dict(model, state_dict_of(checkpoint), self.path,
                         strict=self.strict, hint=self.hint)
