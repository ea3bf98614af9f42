"""Run identity of a resumable tool's output: resume only the same run.

A resumable tool (certify, sample, extract_latents, ...) writes its output
in pieces and, when run again after an interruption, skips the finished
pieces. That is only right when the pieces were made by *the same run*: the
same tool, the same arguments that define the result, the same merged config
and the same checkpoint. :func:`claim_output` records these in a sidecar
JSON next to the output and refuses, in one line, an output that belongs to
another run (or to no recorded run) unless the user passes ``--overwrite``.

Sidecar layout (``FILE.json`` beside a file, ``DIR/run_identity.json``
inside a folder)::

    {"format": "rgl-run/1", "tool": "sample",
     "run": {<args>..., "config_sha256": ..., "checkpoint_sha256": ...},
     "info": {"config": <path>, "checkpoint": <path>}}

Only ``tool`` and ``run`` decide whether two runs are the same; ``info``
(file locations) is for people, so a moved checkpoint still resumes.

Example (a tool writing a folder; rank 0 claims, the other ranks wait)::

    from rgl.utils.run_identity import RunIdentity, claim_output

    identity = RunIdentity(
        'sample', {k: getattr(args, k) for k in ('num_samples', 'seed')},
        config=cfg, checkpoint=args.checkpoint)
    if rank == 0:
        resumed = claim_output(args.out, identity, folder=True,
                               members=('chunks', 'samples.npz'),
                               overwrite=args.overwrite)
    barrier()

and a tool writing one file (``out.tsv`` and its ``out.tsv.part*``)::

    claim_output('out.tsv', identity, members=('out.tsv.part*', ),
                 overwrite=args.overwrite)
"""
import argparse
import glob
import hashlib
import json
import os
import os.path as osp
import re
import shutil

from .errors import ConfigError

SIDECAR_FORMAT = 'rgl-run/1'
FOLDER_SIDECAR = 'run_identity.json'

_DIGESTS = {}  # (abspath, mtime_ns, size) -> sha256 hex, per process


def file_sha256(path, chunk=1 << 20):
    """SHA-256 of a file, streamed; cached per (path, mtime, size) so a
    multi-GB checkpoint is read once per process."""
    path = osp.abspath(os.fspath(path))
    st = os.stat(path)
    key = (path, st.st_mtime_ns, st.st_size)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with open(path, 'rb') as f:
            for block in iter(lambda: f.read(chunk), b''):
                h.update(block)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


def path_sha256(path):
    """:func:`file_sha256` of a file; for a folder (e.g. a diffusers model
    folder), the SHA-256 of its files' relative names and digests."""
    path = os.fspath(path)
    if not osp.isdir(path):
        return file_sha256(path)
    h = hashlib.sha256()
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = osp.join(root, name)
            h.update(f'{osp.relpath(full, path)}\t'
                     f'{file_sha256(full)}\n'.encode())
    return h.hexdigest()


def config_sha256(config):
    """SHA-256 of a merged config (after ``--cfg-options``).

    ``config`` is an mmengine ``Config``, a dict (e.g. only ``cfg.model``)
    or a config file path. The hash is taken over the canonical JSON text
    of its content (sorted keys), so it does not depend on formatting,
    comments or ``_base_`` layout, only on the values the run uses.
    """
    if isinstance(config, (str, os.PathLike)):
        from mmengine.config import Config
        config = Config.fromfile(os.fspath(config))
    if hasattr(config, 'to_dict'):
        config = config.to_dict()
    text = json.dumps(_jsonable(config), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, '__qualname__'):  # a class or function in a config
        return f'{getattr(value, "__module__", "")}.{value.__qualname__}'
    # no memory addresses: the same config hashes the same in every process
    return re.sub(r' at 0x[0-9a-fA-F]+', '', repr(value))


class RunIdentity:
    """What defines the result of one run of a tool.

    Args:
        tool (str): the tool's name, e.g. ``'sample'``.
        args (dict | argparse.Namespace): the arguments that define the
            result (not where it goes, nor how fast: leave out ``--out``,
            ``--launcher``, ``--device`` ...). Values must be JSON-like;
            paths and other objects are stored as strings.
        config: the merged config (``Config``, dict or file path), hashed
            with :func:`config_sha256`; None when the tool has none.
        checkpoint (str, optional): a weights file (or model folder),
            hashed with :func:`path_sha256`.
        ignore (tuple[str]): names dropped from ``args`` (convenient with
            a Namespace).
    """

    def __init__(self, tool, args, config=None, checkpoint=None,
                 ignore=()):
        if isinstance(args, argparse.Namespace):
            args = vars(args)
        self.tool = tool
        self.run = {k: _jsonable(v) for k, v in args.items()
                    if k not in ignore}
        self.info = {}
        if config is not None:
            self.run['config_sha256'] = config_sha256(config)
            if isinstance(config, (str, os.PathLike)) or getattr(
                    config, 'filename', None):
                self.info['config'] = osp.abspath(os.fspath(
                    getattr(config, 'filename', None) or config))
        if checkpoint is not None:
            self.run['checkpoint_sha256'] = path_sha256(checkpoint)
            self.info['checkpoint'] = osp.abspath(os.fspath(checkpoint))

    def to_dict(self):
        return dict(format=SIDECAR_FORMAT, tool=self.tool, run=self.run,
                    info=self.info)

    def differences(self, recorded):
        """``'field: old (output) vs new (now)'`` for each field where the
        sidecar ``recorded`` (a dict read from JSON) differs, tool first,
        then the arguments in their given order."""
        diffs = []
        if recorded.get('tool', self.tool) != self.tool:
            diffs.append(f'tool: {recorded["tool"]!r} (output) vs '
                         f'{self.tool!r} (now)')
        old = recorded.get('run', {})
        keys = list(self.run) + sorted(set(old) - set(self.run))
        for k in keys:
            if old.get(k) != self.run.get(k):
                diffs.append(f'{k}: {_short(old.get(k))} (output) vs '
                             f'{_short(self.run.get(k))} (now)')
        return diffs


def _short(value, limit=40):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + '...'


def sidecar_path(path, folder=False):
    """Where the sidecar of output ``path`` lives."""
    return osp.join(path, FOLDER_SIDECAR) if folder else path + '.json'


def _members(path, folder, members):
    """The existing paths that make up the output (sidecar excluded)."""
    base = path if folder else osp.dirname(osp.abspath(path))
    patterns = members if members is not None else (
        ('*', ) if folder else ())
    found = [] if folder or not osp.lexists(path) else [path]
    if folder and not osp.isdir(path):
        return found
    side = osp.abspath(sidecar_path(path, folder))
    for pattern in patterns:
        for p in sorted(glob.glob(osp.join(glob.escape(base), pattern))):
            if osp.abspath(p) != side and p not in found:
                found.append(p)
    return found


def _remove(paths):
    for p in paths:
        if osp.isdir(p) and not osp.islink(p):
            shutil.rmtree(p)
        elif osp.lexists(p):
            os.remove(p)


def read_sidecar(path, folder=False):
    """The recorded identity of output ``path`` as a dict, or None."""
    side = sidecar_path(path, folder)
    if not osp.isfile(side):
        return None
    try:
        with open(side) as f:
            recorded = json.load(f)
    except (OSError, ValueError) as err:
        raise ConfigError(f'{side}: unreadable run identity ({err}); pass '
                          '--overwrite to replace the output') from None
    return recorded if isinstance(recorded, dict) else {}


def claim_output(path, identity, overwrite=False, resume=True, folder=False,
                 members=None):
    """Start, resume or refuse the output ``path`` of run ``identity``.

    Call it once (rank 0) before anything is written.

    Args:
        path (str): the output file, or folder with ``folder=True``.
        identity (RunIdentity): the run about to write it.
        overwrite (bool): remove an existing output (its members and
            sidecar) and start afresh.
        resume (bool): whether the tool can continue an output of the same
            run; with False any existing output is refused.
        folder (bool): ``path`` is a folder (sidecar inside it).
        members (tuple[str], optional): glob patterns of what the tool
            writes, relative to the folder (or, for a file output, to the
            file's folder, e.g. ``'out.tsv.part*'``). They decide whether an
            output exists and are what ``overwrite`` removes. Default: the
            whole folder, or the file alone.

    Returns:
        bool: True when an existing output of the same run is resumed,
        False when the output starts empty (its sidecar is written).

    Raises:
        ConfigError: the output exists and belongs to another run, has no
            sidecar, or cannot be resumed; one line naming the output and
            the first differing fields.
    """
    path = os.fspath(path)
    if not folder and osp.isdir(path):
        raise ConfigError(f'{path} is a folder; the output is a file')
    if folder and osp.lexists(path) and not osp.isdir(path):
        raise ConfigError(f'{path} is a file; the output is a folder')
    side = sidecar_path(path, folder)
    existing = _members(path, folder, members)
    if overwrite:
        _remove(existing + [side])
        existing = []
    if existing:
        recorded = read_sidecar(path, folder)
        if recorded is None:
            raise ConfigError(
                f'{path} exists but has no run header {side}: it was not '
                'written by this run; choose another output or pass '
                '--overwrite to replace it')
        diffs = identity.differences(recorded)
        if diffs:
            raise ConfigError(
                f'{path} belongs to a different run ({"; ".join(diffs[:4])}'
                f'{"; ..." if len(diffs) > 4 else ""}); choose another '
                'output or pass --overwrite to replace it')
        if not resume:
            raise ConfigError(
                f'{path} already holds an output of this run and '
                f'{identity.tool} cannot resume; pass --overwrite to redo it')
        return True
    os.makedirs(path if folder else osp.dirname(osp.abspath(path)),
                exist_ok=True)
    tmp = side + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(identity.to_dict(), f, indent=2, sort_keys=True)
    os.replace(tmp, side)
    return False


def check_output(path, identity, folder=False):
    """For ranks other than the one that called :func:`claim_output`:
    raise ConfigError unless ``path``'s sidecar records ``identity``."""
    recorded = read_sidecar(path, folder)
    if recorded is None:
        raise ConfigError(f'{path} has no run header '
                          f'{sidecar_path(path, folder)}')
    diffs = identity.differences(recorded)
    if diffs:
        raise ConfigError(f'{path} belongs to a different run '
                          f'({"; ".join(diffs[:4])})')
