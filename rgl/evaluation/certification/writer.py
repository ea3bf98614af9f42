"""Resumable, rank-split writing of a certification TSV.

- Rows are flushed as produced. One process appends to ``FILE`` itself;
  with several ranks each appends to ``FILE.part<rank>`` and rank 0 merges
  the parts into ``FILE`` in idx order at the end (atomically, by rename).
- ``FILE.json`` (the sidecar) records the run parameters. An existing
  ``FILE`` is only resumed when the sidecar matches the new run; a file of
  another run (or one without a sidecar) is never appended to.
- Resuming first merges any parts left by a killed run (whatever its world
  size), drops a half-written last line, and skips the finished indices:
  no row is lost or duplicated.
"""
import glob
import os

from rgl.utils.run_identity import RunIdentity, claim_output
from rgl.utils.run_identity import sidecar_path as _run_sidecar_path
from .tsv import HEADER, read_complete_lines


def sidecar_path(path):
    return _run_sidecar_path(path)


def part_paths(path):
    return sorted(glob.glob(glob.escape(path) + '.part*'))


def check_or_create(path, run_params, overwrite=False, checkpoint=None,
                    config=None):
    """Rank 0, before any row is written: validate or start ``path``.

    The run identity (sidecar ``FILE.json``) is
    :class:`rgl.utils.run_identity.RunIdentity` of tool ``'certify'`` with
    ``run_params`` as its arguments (plus the hashes of ``config`` and
    ``checkpoint`` when given); ``FILE.part*`` belong to the output.

    Raises:
        ConfigError: ``path`` (or its parts) exists and belongs to another
            run, or has no sidecar to prove it belongs to this one.
    """
    identity = RunIdentity('certify', run_params, config=config,
                           checkpoint=checkpoint)
    resumed = claim_output(
        path, identity, overwrite=overwrite,
        members=(glob.escape(os.path.basename(path)) + '.part*', ))
    if not resumed:
        with open(path, 'w') as f:
            f.write(HEADER + '\n')
    merge_parts(path)


def merge_parts(path):
    """Fold ``path`` and its part files into ``path`` (idx order, one row
    per idx) and delete the parts."""
    parts = part_paths(path)
    if not parts:
        _truncate_partial(path)
        return
    rows = {}
    for p in [path] + parts:
        if not os.path.isfile(p):
            continue
        lines, _ = read_complete_lines(p)
        for line in lines:
            rows.setdefault(int(line.split('\t', 1)[0]), line)
    tmp = path + '.merging'
    with open(tmp, 'w') as f:
        f.write(HEADER + '\n')
        for idx in sorted(rows):
            f.write(rows[idx] + '\n')
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    for p in parts:
        os.remove(p)


def _truncate_partial(path):
    if not os.path.isfile(path):
        return
    _, valid = read_complete_lines(path)
    if valid < os.path.getsize(path):
        with open(path, 'r+b') as f:
            f.truncate(valid)
    if valid == 0:  # not even a header survived
        with open(path, 'w') as f:
            f.write(HEADER + '\n')


def finished_indices(path):
    lines, _ = read_complete_lines(path)
    return {int(line.split('\t', 1)[0]) for line in lines}


class RowWriter:
    """Appends rows for one rank; use as a context manager."""

    def __init__(self, path, rank=0, world_size=1):
        self.path = path if world_size == 1 else f'{path}.part{rank}'
        if self.path != path and not os.path.exists(self.path):
            with open(self.path, 'w') as f:
                f.write(HEADER + '\n')
        self._file = None

    def __enter__(self):
        self._file = open(self.path, 'a')
        return self

    def write(self, line):
        self._file.write(line + '\n')
        self._file.flush()  # a killed run keeps every finished row

    def __exit__(self, *exc):
        self._file.close()
