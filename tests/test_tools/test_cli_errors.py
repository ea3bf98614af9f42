"""Bad input through tools/ gives one clear line, exit code 2, and no
traceback."""
import pytest

CFG = 'configs/digits/smallconvnet_1xb64-20e_digits.py'


def _assert_one_clear_error(out, *fragments):
    assert out.returncode == 2, out.stderr[-2000:]
    assert 'Traceback' not in out.stderr
    error_lines = [ln for ln in out.stderr.splitlines()
                   if ln.startswith('error: ')]
    assert len(error_lines) == 1, out.stderr[-2000:]
    for fragment in fragments:
        assert fragment in error_lines[0], error_lines[0]


@pytest.mark.parametrize('options, fragments', [
    (['model.backbone.type=SmallConvNett'],
     ["unknown type 'SmallConvNett'", "did you mean 'SmallConvNet'"]),
    (['train_dataloader.dataset.type=ImageFolderDataset',
      'train_dataloader.dataset.data_root=/no/such/root'],
     ['data_root', '/no/such/root']),
    (['model.num_classes=None'], ['num_classes']),
    (['model.backbone.depth=3'], ['SmallConvNet', 'depth']),
])
def test_train_config_errors(tool, tmp_path, options, fragments):
    out = tool(['tools/train.py', CFG, '--work-dir', str(tmp_path),
                '--cfg-options'] + options)
    _assert_one_clear_error(out, *fragments)


def test_missing_required_key(tool, tmp_path):
    cfg = tmp_path / 'no_model.py'
    cfg.write_text(f"_base_ = ['{__file__.rsplit('/tests/', 1)[0]}/{CFG}']\n"
                   "model = None\n")
    out = tool(['tools/train.py', str(cfg), '--work-dir', str(tmp_path)])
    _assert_one_clear_error(out, 'no `model`')


def test_wrong_config_path(tool, tmp_path):
    out = tool(['tools/train.py', 'configs/nope.py'])
    _assert_one_clear_error(out, 'configs/nope.py')


def test_wrong_checkpoint_path(tool, tmp_path):
    out = tool(['tools/test.py', CFG, str(tmp_path / 'missing.pth')])
    _assert_one_clear_error(out, 'missing.pth')
    out = tool(['tools/train.py', CFG, '--work-dir', str(tmp_path),
                '--resume', str(tmp_path / 'gone.pth')])
    _assert_one_clear_error(out, 'gone.pth')


# issue 8, section 2: the cases that were still tracebacks -----------------

def test_config_syntax_error_names_file_and_line(tool, tmp_path):
    """mmengine failed in its lazy-import check with a deep traceback and
    no file name; a broken _base_ file is named too."""
    base = tmp_path / 'base.py'
    base.write_text('model = dict(\ntype="SmallConvNet",\n  x = ]\n')
    cfg = tmp_path / 'child.py'
    cfg.write_text("_base_ = ['./base.py']\n")
    out = tool(['tools/train.py', str(cfg), '--work-dir', str(tmp_path)])
    _assert_one_clear_error(out, 'syntax error', str(base), 'line 3')


def test_wrong_value_type_before_the_config_dump(tool, tmp_path):
    """(The other malformed --cfg-options and the directory config run
    in-process: tests/test_utils/test_errors_config.py.)"""
    out = tool(['tools/train.py', CFG, '--work-dir', str(tmp_path),
                '--cfg-options', 'optim_wrapper.optimizer.lr=abc'])
    _assert_one_clear_error(out, 'optim_wrapper.optimizer.lr', "'abc'",
                            'expected a number')
    # reported before mmengine's Runner logs the merged config
    assert 'Config:' not in out.stdout + out.stderr


def test_get_flops_shape_that_does_not_fit(tool):
    # README's generic `--shape 3 32 32` on the 1-channel digits config
    out = tool(['tools/analysis_tools/get_flops.py', CFG,
                '--shape', '3', '32', '32'])
    _assert_one_clear_error(out, '--shape 3 32 32', 'SmallConvNet',
                            '1-channel', '(1, 3, 32, 32)')


@pytest.mark.parametrize('nprocs', ['0', 'two', '-1'])
def test_dist_train_bad_num_procs(tool, nprocs):
    out = tool(['bash', 'tools/dist_train.sh', CFG, nprocs])
    _assert_one_clear_error(out, 'NUM_PROCS', repr(nprocs))


@pytest.mark.parametrize('nprocs', ['0', 'two'])
def test_dist_test_bad_num_procs(tool, nprocs):
    out = tool(['bash', 'tools/dist_test.sh', CFG, nprocs])
    _assert_one_clear_error(out, 'NUM_PROCS', repr(nprocs))
