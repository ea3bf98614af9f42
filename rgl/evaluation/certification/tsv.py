"""The certification TSV of locuslab/smoothing, read and written by rgl.

One row per image: ``idx  label  predict  radius  correct  time`` with
``predict = -1`` for an abstention, the radius to 3 significant digits,
``correct`` 0/1 and ``time`` a ``datetime.timedelta`` string, so files from
the reference tools and from rgl analyse alike.
"""
import datetime
import os

import numpy as np

from rgl.utils.errors import DataError

COLUMNS = ('idx', 'label', 'predict', 'radius', 'correct', 'time')
HEADER = '\t'.join(COLUMNS)


def format_row(idx, label, predict, radius, correct, seconds):
    return '{}\t{}\t{}\t{:.3}\t{}\t{}'.format(
        int(idx), int(label), int(predict), float(radius), int(correct),
        datetime.timedelta(seconds=float(seconds)))


def read_complete_lines(path):
    """The header and the complete data lines of ``path``, plus the byte
    length of that complete prefix.

    A run killed mid-write can leave a last line without its newline or
    with missing columns: it is not returned, and ``valid_bytes`` tells
    where to truncate before appending.
    """
    with open(path, 'rb') as f:
        data = f.read()
    lines, valid, pos = [], 0, 0
    # the piece after the last newline is partial
    for raw in data.split(b'\n')[:-1]:
        pos += len(raw) + 1
        text = raw.decode('utf-8', errors='replace')
        if len(text.split('\t')) != len(COLUMNS):
            break
        lines.append(text)
        valid = pos
    if lines and lines[0] != HEADER:
        raise DataError(f'{path}: not a certification TSV (first line '
                        f'{lines[0]!r}, expected {HEADER!r})')
    return lines[1:], valid


def parse_row(line):
    idx, label, predict, radius, correct, _ = line.split('\t')
    return int(idx), int(label), int(predict), float(radius), int(correct)


def read_certify_tsv(path):
    """Read a certification TSV into numpy arrays keyed by column.

    The ``correct`` column is recomputed as ``predict == label`` where it is
    not 0/1 (Carlini et al.'s ImageNet script writes a running count).
    """
    if not os.path.isfile(path):
        raise DataError(f'certification file not found: {path}')
    with open(path, encoding='utf-8', errors='replace') as f:
        header = f.readline().rstrip('\n').split('\t')
    if tuple(header) != COLUMNS and set(COLUMNS[:5]) <= set(header):
        return _read_by_column_names(path, header)
    lines, _ = read_complete_lines(path)
    if not lines:
        raise DataError(f'{path}: no certified images in the file')
    rows = np.array([parse_row(ln) for ln in lines], dtype=np.float64)
    out = {name: rows[:, i] for i, name in enumerate(COLUMNS[:5])}
    for key in ('idx', 'label', 'predict', 'correct'):
        out[key] = out[key].astype(np.int64)
    if out['correct'].max() > 1:
        out['correct'] = (out['predict'] == out['label']).astype(np.int64)
    return out


def _read_by_column_names(path, header):
    """A TSV with other columns around locuslab's (e.g. the MDDS cascade's
    ``idx label predict radius r_neg correct pred_uc corr_uc stage time``):
    the five shared columns by name; any negative ``predict`` (the
    cascade's -2) is an abstention."""
    with open(path, encoding='utf-8', errors='replace') as f:
        text = f.read()
    lines = [ln.split('\t') for ln in text.split('\n')[1:-1]]
    lines = [v for v in lines if len(v) == len(header)]  # complete rows
    if not lines:
        raise DataError(f'{path}: no certified images in the file')
    col = {name: header.index(name) for name in COLUMNS[:5]}
    out = {name: np.array([float(v[i]) for v in lines])
           for name, i in col.items()}
    for key in ('idx', 'label', 'predict', 'correct'):
        out[key] = out[key].astype(np.int64)
    out['predict'][out['predict'] < 0] = -1
    return out
