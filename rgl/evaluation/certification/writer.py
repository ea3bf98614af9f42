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
import json
import os

from rgl.utils.errors import ConfigError
from .tsv import HEADER, read_complete_lines

SIDECAR_FORMAT = 'rgl-certify/1'


def sidecar_path(path):
    return path + '.json'


def part_paths(path):
    return sorted(glob.glob(glob.escape(path) + '.part*'))


def _describe_diff(old, new):
    keys = sorted(set(old) | set(new))
    diffs = [f'{k}: {old.get(k)!r} (file) vs {new.get(k)!r} (now)'
             for k in keys if old.get(k) != new.get(k)]
    return '; '.join(diffs[:4])


def check_or_create(path, run_params, overwrite=False):
    """Rank 0, before any row is written: validate or start ``path``.

    Raises:
        ConfigError: ``path`` (or its parts) exists and belongs to another
            run, or has no sidecar to prove it belongs to this one.
    """
    side = sidecar_path(path)
    existing = [p for p in [path] + part_paths(path) if os.path.exists(p)]
    if overwrite:
        for p in existing + ([side] if os.path.exists(side) else []):
            os.remove(p)
        existing = []
    if existing:
        if not os.path.isfile(side):
            raise ConfigError(
                f'--out {path} exists but has no run header {side}: it was '
                'not written by this run; choose another --out or pass '
                '--overwrite')
        with open(side) as f:
            old = json.load(f).get('run', {})
        if old != run_params:
            raise ConfigError(
                f'--out {path} belongs to a different run '
                f'({_describe_diff(old, run_params)}); choose another --out '
                'or pass --overwrite')
    else:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(side, 'w') as f:
            json.dump(dict(format=SIDECAR_FORMAT, run=run_params), f,
                      indent=2, sort_keys=True)
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
