"""tools/analysis_tools/analyze_logs.py on scalars.json files in mmengine's
format (written by mmengine's own LocalVisBackend)."""
import importlib.util
import os.path as osp

import numpy as np
import pytest

from conftest import REPO_ROOT
from rgl.utils.errors import ConfigError, DataError


def _tool():
    spec = importlib.util.spec_from_file_location(
        'rgl_analyze_logs',
        osp.join(REPO_ROOT, 'tools/analysis_tools/analyze_logs.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_run(work_dir, epochs=3, iters_per_epoch=10, interval=5,
              epoch_based=True, stamp='20260101_000000'):
    """A run's scalars.json as mmengine's LoggerHook writes it: a training
    record every ``interval`` iterations, a validation record per epoch.
    Returns the expected loss/time/accuracy series."""
    from mmengine.visualization import LocalVisBackend
    backend = LocalVisBackend(save_dir=str(work_dir / stamp / 'vis_data'))
    losses, times, accs = {}, [], {}
    for epoch in range(1, epochs + 1):
        for it in range(interval, iters_per_epoch + 1, interval):
            step = (epoch - 1) * iters_per_epoch + it
            losses[step] = 2.0 / step
            times.append((epoch, 0.1 * epoch + 0.01 * it))
            record = dict(lr=0.1, data_time=0.01, loss=losses[step],
                          loss_cls=losses[step], time=times[-1][1],
                          iter=step)
            if epoch_based:
                record['epoch'] = epoch
            backend.add_scalars(record, step=step)
        accs[epoch] = 50.0 + 10 * epoch
        backend.add_scalars({'accuracy/top1': accs[epoch], 'data_time': 0.02,
                             'time': 0.05},
                            step=epoch if epoch_based else step)
    backend.close()
    return losses, times, accs


def test_curves_of_an_epoch_based_run(tmp_path):
    tool = _tool()
    losses, _, accs = write_run(tmp_path)
    train, val = tool.load_log(str(tmp_path))  # a work_dir finds the run
    assert len(train) == 6 and len(val) == 3
    xs, ys = tool.curve(train, val, 'loss')
    assert xs == sorted(losses) and ys == [losses[x] for x in xs]
    # a validation metric sits at the last logged iteration of its epoch
    xs, ys = tool.curve(train, val, 'accuracy/top1')
    assert xs == [10, 20, 30] and ys == [accs[1], accs[2], accs[3]]
    assert tool.curve(train, val, 'nope') is None


def test_iteration_based_run_uses_the_step(tmp_path):
    tool = _tool()
    _, _, accs = write_run(tmp_path, epoch_based=False)
    train, val = tool.load_log(str(tmp_path))
    assert tool.curve(train, val, 'accuracy/top1') == (
        [10, 20, 30], [accs[1], accs[2], accs[3]])


def test_train_times_by_epoch(tmp_path, capsys):
    tool = _tool()
    _, times, _ = write_run(tmp_path)
    train, _ = tool.load_log(str(tmp_path))
    by_epoch = tool.train_times(train)
    assert by_epoch == {1: [times[1][1]], 2: [times[2][1], times[3][1]],
                        3: [times[4][1], times[5][1]]}
    assert tool.train_times(train, include_outliers=True)[1] == \
        [times[0][1], times[1][1]]
    tool.main(['cal_train_time', str(tmp_path)])
    out = capsys.readouterr().out
    mean = np.mean([t for _, t in times[1:]])
    assert f'average iter time: {mean:.4f} s/iter' in out
    assert 'slowest epoch 3' in out and 'fastest epoch 1' in out


def test_bad_logs_and_arguments(tmp_path):
    tool = _tool()
    with pytest.raises(DataError, match='no vis_data/scalars.json'):
        tool.load_log(str(tmp_path))
    write_run(tmp_path)
    with pytest.raises(DataError, match="no 'nope'; it has lr, data_time"):
        tool.main(['plot_curve', str(tmp_path), '--keys', 'nope',
                   '--out', str(tmp_path / 'x.png')])
    with pytest.raises(ConfigError, match='--legend needs 2'):
        tool.main(['plot_curve', str(tmp_path), '--keys', 'loss', 'lr',
                   '--legend', 'one', '--out', str(tmp_path / 'x.png')])
    broken = tmp_path / 'broken.json'
    broken.write_text('{"loss": 1, "step": 1}\nnot json\n')
    with pytest.raises(DataError, match='broken.json, line 2'):
        tool.load_log(str(broken))


def test_plot_curve_through_the_tool(tool, tmp_path):
    write_run(tmp_path / 'a')
    write_run(tmp_path / 'b', stamp='20260102_000000')
    out_png = tmp_path / 'plots' / 'curves.png'
    out = tool(['tools/analysis_tools/analyze_logs.py', 'plot_curve',
                str(tmp_path / 'a'), str(tmp_path / 'b'), '--keys', 'loss',
                'accuracy/top1', '--legend', 'a loss', 'a acc', 'b loss',
                'b acc', '--title', 'digits', '--out', str(out_png)])
    assert out.returncode == 0, out.stderr[-3000:]
    assert '4 curve(s)' in out.stdout
    with open(out_png, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
