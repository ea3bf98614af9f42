import json

import pytest

from rgl.evaluation.certification import (HEADER, RowWriter,
                                          check_or_create, finished_indices,
                                          format_row, merge_parts)
from rgl.utils.errors import ConfigError

RUN = dict(sigma=0.25, n0=100, n=1000, alpha=0.001, checkpoint_sha256='ab')


def _row(i):
    return format_row(i, i % 10, i % 10, 0.5, 1, 0.1)


def test_new_file_gets_header_and_sidecar(tmp_path):
    out = str(tmp_path / 'sub' / 'c.tsv')
    check_or_create(out, RUN)
    assert open(out).read() == HEADER + '\n'
    assert json.load(open(out + '.json'))['run'] == RUN
    with RowWriter(out) as w:
        w.write(_row(0))
        # flushed as produced: visible before the writer closes
        assert finished_indices(out) == {0}


def test_foreign_files_are_refused(tmp_path):
    out = str(tmp_path / 'c.tsv')
    check_or_create(out, RUN)
    with pytest.raises(ConfigError, match=r'different run \(n: 1000'):
        check_or_create(out, dict(RUN, n=2000))
    # a file without a sidecar (e.g. locuslab's) is not appended to
    other = tmp_path / 'theirs.tsv'
    other.write_text(HEADER + '\n' + _row(0) + '\n')
    with pytest.raises(ConfigError, match='no run header'):
        check_or_create(str(other), RUN)
    check_or_create(str(other), RUN, overwrite=True)
    assert finished_indices(str(other)) == set()


def test_resume_drops_half_written_row(tmp_path):
    out = str(tmp_path / 'c.tsv')
    check_or_create(out, RUN)
    with open(out, 'a') as f:
        f.write(_row(0) + '\n' + _row(5) + '\n' + _row(10)[:7])  # killed
    check_or_create(out, RUN)
    assert finished_indices(out) == {0, 5}
    with RowWriter(out) as w:
        w.write(_row(10))
    assert open(out).read().splitlines()[1:] == [_row(0), _row(5), _row(10)]


def test_parts_of_a_killed_distributed_run_merge_in_order(tmp_path):
    out = str(tmp_path / 'c.tsv')
    check_or_create(out, RUN)
    for rank, idxs in ((0, [0, 4]), (1, [2, 6]), (2, [8])):
        with RowWriter(out, rank, 3) as w:
            for i in idxs:
                w.write(_row(i))
    with open(out + '.part1', 'a') as f:
        f.write(_row(10)[:5])  # half a row
    with open(out + '.part2', 'a') as f:
        f.write(_row(4) + '\n')  # a duplicate never survives the merge
    # a resumed run (any world size) consolidates first
    check_or_create(out, RUN)
    lines = open(out).read().splitlines()
    assert lines[0] == HEADER
    assert [int(ln.split('\t')[0]) for ln in lines[1:]] == [0, 2, 4, 6, 8]
    assert not list(tmp_path.glob('c.tsv.part*'))
    merge_parts(out)  # idempotent
    assert open(out).read().splitlines() == lines
