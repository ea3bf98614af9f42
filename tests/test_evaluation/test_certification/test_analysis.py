import math

import numpy as np
import pytest

from rgl.evaluation.certification import (average_certified_radius,
                                          certified_accuracy, format_row,
                                          high_probability_correction,
                                          latex_table, markdown_table,
                                          plot_certified_accuracy,
                                          read_certify_tsv, summarize)
from rgl.utils.errors import DataError

# locuslab/smoothing's format, as its certify.py writes it
LOCUSLAB = """idx\tlabel\tpredict\tradius\tcorrect\ttime
0\t3\t3\t0.912\t1\t0:00:01.532011
20\t8\t8\t0.219\t1\t0:00:01.498871
40\t8\t-1\t0.0\t0\t0:00:01.502337
60\t0\t6\t0.5\t0\t0:00:01.497262
"""


def _write(tmp_path, text, name='run.tsv'):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_reads_locuslab_tsv_and_computes_metrics_by_hand(tmp_path):
    rows = read_certify_tsv(_write(tmp_path, LOCUSLAB))
    assert rows['idx'].tolist() == [0, 20, 40, 60]
    assert rows['predict'].tolist() == [3, 8, -1, 6]
    acc = certified_accuracy(rows['radius'], rows['correct'],
                             [0, 0.219, 0.22, 0.912, 1.0])
    np.testing.assert_allclose(acc, [0.5, 0.5, 0.25, 0.25, 0.0])
    # wrong predictions count 0 whatever their radius
    assert average_certified_radius(rows['radius'], rows['correct']) == \
        pytest.approx((0.912 + 0.219) / 4)
    s = summarize(rows, [0.0, 0.5])
    assert s['abstain_rate'] == 0.25 and s['num_images'] == 4
    assert s['clean_accuracy'] == 0.5


def test_cumulative_correct_column_is_recomputed(tmp_path):
    # Carlini et al.'s ImageNet script writes a running count in `correct`
    text = LOCUSLAB.replace('\t1\t0:00:01.498871', '\t2\t0:00:01.498871')
    text = text.replace('\t0\t0:00:01.502337', '\t2\t0:00:01.502337')
    rows = read_certify_tsv(_write(tmp_path, text))
    assert rows['correct'].tolist() == [1, 1, 0, 0]


def test_format_row_matches_reference_formatting():
    line = format_row(7, 3, 3, 0.123456, 1, 1.5)
    assert line == '7\t3\t3\t0.123\t1\t0:00:01.500000'
    assert format_row(1, 2, -1, 0.0, 0, 0).split('\t')[3] == '0.0'


def test_high_probability_correction_formula():
    n, alpha, rho = 500, 0.001, 0.001
    want = alpha + math.sqrt(alpha * (1 - alpha) * math.log(1 / rho) / n) \
        + math.log(1 / rho) / (3 * n)
    assert high_probability_correction(n, alpha, rho) == pytest.approx(want)
    rows = dict(radius=np.full(n, 1.0), correct=np.ones(n, int),
                predict=np.zeros(n, int))
    s = summarize(rows, [0.5], alpha=alpha, rho=rho)
    assert s['certified_accuracy'][0] == pytest.approx(1 - want)


def test_tables_mark_the_best_run(tmp_path):
    a = dict(acr=0.5, certified_accuracy=[0.8, 0.4])
    b = dict(acr=0.6, certified_accuracy=[0.7, 0.4])
    md = markdown_table(dict(gauss=a, catrs=b), [0.0, 0.5])
    lines = md.splitlines()
    assert lines[0] == '| run | ACR | r=0 | r=0.5 |'
    assert lines[2] == '| gauss | 0.500 | **80.0** | **40.0** |'
    assert lines[3] == '| catrs | **0.600** | 70.0 | **40.0** |'
    tex = latex_table(dict(cat_rs=b), [0.0, 0.5])
    assert r'cat\_rs & 0.600 & 70.0 & 40.0 \\' in tex
    assert tex.count(r'\begin{tabular}{lrrr}') == 1


def test_plot_writes_png(tmp_path):
    rows = read_certify_tsv(_write(tmp_path, LOCUSLAB))
    out = plot_certified_accuracy(dict(a=rows), str(tmp_path / 'c.png'))
    with open(out, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_bad_files(tmp_path):
    with pytest.raises(DataError, match='not found'):
        read_certify_tsv(str(tmp_path / 'missing.tsv'))
    with pytest.raises(DataError, match='not a certification TSV'):
        read_certify_tsv(
            _write(tmp_path, 'a\tb\tc\td\te\tf\n1\t2\t3\t4\t5\t6\n'))
    with pytest.raises(DataError, match='no certified images'):
        read_certify_tsv(_write(tmp_path, LOCUSLAB.splitlines()[0] + '\n'))


def test_mdds_cascade_tsv_is_read_by_column_name(tmp_path):
    """The cascade's 10 columns: the shared five by name, -2 abstains."""
    from rgl.evaluation.certification import read_certify_tsv
    path = tmp_path / 'mdds.tsv'
    path.write_text(
        'idx\tlabel\tpredict\tradius\tr_neg\tcorrect\tpred_uc\tcorr_uc'
        '\tstage\ttime\n'
        '0\t3\t3\t0.75\t0.1\t1\t3\t1\t1\t0:00:01\n'
        '5\t2\t-2\t0.0\t0.0\t0\t2\t1\t2\t0:00:02\n'
        '9\t1\t4\t0.25\t0.0\t0\t4\t0\t3\t0:00:01\n'
        '12\t7\t7\t0.5')  # a half-written last row is ignored
    got = read_certify_tsv(str(path))
    assert got['idx'].tolist() == [0, 5, 9]
    assert got['predict'].tolist() == [3, -1, 4]
    assert got['radius'].tolist() == [0.75, 0.0, 0.25]
    assert got['correct'].tolist() == [1, 0, 0]
