"""rgl.utils.config, rgl.utils.shapes and run_cli: the bad inputs of
issue 8 give one ConfigError/DataError naming the file, key or value."""
import os
import os.path as osp

import pytest
import torch

from conftest import REPO_ROOT
from rgl.utils.cli import run_cli, user_error_message
from rgl.utils.config import (check_config_file, check_writable,
                              load_config, resolve_last_checkpoint)
from rgl.utils.errors import ConfigError, DataError

CFG = osp.join(REPO_ROOT, 'configs/digits/smallconvnet_1xb64-20e_digits.py')


def test_syntax_error_in_the_config_itself(tmp_path):
    cfg = tmp_path / 'bad.py'
    cfg.write_text('a = 1\nb = (2,\n')
    with pytest.raises(ConfigError, match=rf'{cfg}, line 2'):
        check_config_file(str(cfg))


def test_unreadable_config_is_named(tmp_path):
    # root can read a chmod-000 file; a path that fails on read cannot be
    # read by anyone: a symlink to /proc/self/mem (EIO on read at 0)
    cfg = tmp_path / 'unreadable.py'
    if os.geteuid() == 0 or not hasattr(os, 'geteuid'):
        os.symlink('/proc/self/mem', cfg)
    else:
        cfg.write_text('a = 1\n')
        cfg.chmod(0)
    with pytest.raises(ConfigError, match=rf'cannot read config {cfg}'):
        check_config_file(str(cfg))


def test_binary_config_is_not_text(tmp_path):
    cfg = tmp_path / 'binary.py'
    cfg.write_bytes(b'\xff\xfe\x00garbage')
    with pytest.raises(ConfigError, match='not a text'):
        check_config_file(str(cfg))


def test_directory_and_missing_config(tmp_path):
    with pytest.raises(ConfigError, match='is a directory'):
        check_config_file(str(tmp_path))
    with pytest.raises(ConfigError, match='does not exist'):
        check_config_file(str(tmp_path / 'nope.py'))


def test_option_type_checked_against_the_config():
    with pytest.raises(ConfigError, match=r"optim_wrapper\.optimizer\.lr="
                       r"'abc': expected a number"):
        load_config(CFG, {'optim_wrapper.optimizer.lr': 'abc'})
    # numbers for numbers, None to unset, new keys: all accepted
    cfg = load_config(CFG, {'optim_wrapper.optimizer.lr': 1,
                            'model.num_classes': None,
                            'brand_new.key': 'x'})
    assert cfg.optim_wrapper.optimizer.lr == 1


@pytest.mark.parametrize('key, value', [
    ('train_dataloader.batch_size', 0), ('val_dataloader.batch_size', -4),
    ('test_dataloader.batch_size', 2.5),
    ('train_dataloader.num_workers', -1)])
def test_loader_sizes(key, value):
    with pytest.raises(ConfigError, match=rf'{key} must be an integer'):
        load_config(CFG, {key: value})


def _train_main():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'rgl_tools_train', osp.join(REPO_ROOT, 'tools/train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


@pytest.mark.parametrize('argv, fragment', [
    # mmengine's DictAction raises a bare ValueError/AssertionError while
    # argparse runs; run_cli recognises it wherever a tool uses DictAction
    ([CFG, '--cfg-options', 'foo'], "--cfg-options 'foo': expected KEY="),
    ([CFG, '--cfg-options', 'model.x=[1,'],
     "--cfg-options 'model.x=[1,': cannot parse"),
    ([CFG, '--cfg-options', 'train_dataloader.batch_size=0'],
     'train_dataloader.batch_size must be an integer >= 1, got 0'),
    ([REPO_ROOT + '/configs'], f'config {REPO_ROOT}/configs is a directory'),
])
def test_train_py_one_line_errors(argv, fragment, capsys, monkeypatch,
                                  tmp_path):
    """tools/train.py's main() under run_cli, in-process (no 3 s start)."""
    monkeypatch.delenv('RGL_DEBUG', raising=False)
    main = _train_main()
    with pytest.raises(SystemExit) as exit_info:
        run_cli(lambda: main(argv + ['--work-dir', str(tmp_path)]))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f'error: {fragment}'), err


def test_other_value_errors_keep_their_traceback():
    assert user_error_message(ValueError('a bug')) is None
    assert user_error_message(AssertionError('a bug')) is None


def test_check_writable(tmp_path):
    check_writable(str(tmp_path / 'new' / 'out.tsv'))  # makes the folder
    assert (tmp_path / 'new').is_dir()
    assert os.listdir(tmp_path / 'new') == []  # no probe left behind
    blocker = tmp_path / 'a_file'
    blocker.write_text('')
    with pytest.raises(ConfigError, match=r'--out .*out\.tsv: cannot write'):
        check_writable(str(blocker / 'out.tsv'))
    with pytest.raises(ConfigError, match='--save .* is a directory'):
        check_writable(str(tmp_path), flag='--save')
    # a read-only file system (root ignores chmod; /proc refuses everyone)
    with pytest.raises(ConfigError, match='cannot write'):
        check_writable('/proc/rgl_no_such_dir/out.tsv')


@pytest.mark.skipif(not hasattr(os, 'geteuid') or os.geteuid() == 0,
                    reason='root writes into read-only folders')
def test_check_writable_read_only_folder(tmp_path):
    folder = tmp_path / 'ro'
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ConfigError, match='cannot write'):
            check_writable(str(folder / 'out.tsv'))
    finally:
        folder.chmod(0o700)


def test_resolve_last_checkpoint_of_a_copied_work_dir(tmp_path):
    original, copy = tmp_path / 'orig', tmp_path / 'copy'
    for folder in (original, copy):
        folder.mkdir()
        (folder / 'epoch_3.pth').write_bytes(b'')
        (folder / 'last_checkpoint').write_text(
            str(original / 'epoch_3.pth'))
    assert resolve_last_checkpoint(str(copy)) == str(copy / 'epoch_3.pth')
    assert resolve_last_checkpoint(str(original)) == \
        str(original / 'epoch_3.pth')
    (copy / 'last_checkpoint').write_text('epoch_3.pth')  # relative
    assert resolve_last_checkpoint(str(copy)) == str(copy / 'epoch_3.pth')
    # a checkpoint saved elsewhere (CheckpointHook out_dir) stays as stored
    (copy / 'last_checkpoint').write_text('/elsewhere/epoch_9.pth')
    assert resolve_last_checkpoint(str(copy)) == '/elsewhere/epoch_9.pth'
    assert resolve_last_checkpoint(str(tmp_path)) is None


@pytest.mark.parametrize('cfg, shape, fragments', [
    (dict(type='SmallConvNet', in_channels=1), (2, 3, 16, 16),
     ['SmallConvNet', '1-channel', '(2, 3, 16, 16)']),
    (dict(type='CifarResNet', depth=20), (2, 1, 32, 32),
     ['CifarResNet', '3-channel', '(2, 1, 32, 32)']),
    (dict(type='WideResNet', depth=10, widen_factor=1), (2, 4, 32, 32),
     ['WideResNet', '3-channel']),
])
def test_classifier_backbones_check_channels(cfg, shape, fragments):
    from rgl.registry import MODELS
    net = MODELS.build(cfg)
    with pytest.raises(DataError) as info:
        net(torch.zeros(shape))
    for fragment in fragments:
        assert fragment in str(info.value)
    net(torch.zeros((2, net.in_channels) + shape[2:]))  # the right one runs


def test_sit_checks_input_size_and_channels():
    from rgl.registry import MODELS
    arch = dict(depth=1, hidden_size=32, num_heads=2, patch_size=2)
    sit = MODELS.build(dict(type='SiT', arch=arch, input_size=8,
                            in_channels=4, num_classes=10))
    t, y = torch.rand(2), torch.zeros(2, dtype=torch.long)
    with pytest.raises(DataError, match=r'8x8 inputs .*\(2, 4, 16, 16\)'):
        sit(torch.zeros(2, 4, 16, 16), t, y)
    with pytest.raises(DataError, match=r'4-channel .*\(2, 3, 8, 8\)'):
        sit(torch.zeros(2, 3, 8, 8), t, y)
    assert sit(torch.zeros(2, 4, 8, 8), t, y).shape == (2, 4, 8, 8)


def _run_cli_error(main, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_cli(main)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('error: '), err
    return err[0]


def test_run_cli_names_mmengine_config_errors(tmp_path, capsys,
                                              monkeypatch):
    """Tools that still call Config.fromfile themselves (test.py,
    certify.py, ...) get the same lines from run_cli."""
    from mmengine.config import Config
    monkeypatch.delenv('RGL_DEBUG', raising=False)
    bad = tmp_path / 'bad.py'
    bad.write_text('a = 1\nb = [\n')
    monkeypatch.setattr('sys.argv', ['tools/test.py', str(bad), 'x.pth'])
    line = _run_cli_error(lambda: Config.fromfile(str(bad)), capsys)
    assert line == f"error: syntax error in config {bad}, line 2: " \
        "'[' was never closed"
    folder = tmp_path / 'folder.py'
    folder.mkdir()
    line = _run_cli_error(lambda: Config.fromfile(str(folder)), capsys)
    assert str(folder) in line and 'is a directory' in line.lower()


def test_classifier_refuses_a_grey_batch_for_a_colour_mean():
    """A 3-value mean broadcasts (N, 1, H, W) to 3 channels: without the
    check a colour model runs silently on grey images."""
    from rgl.registry import MODELS
    model = MODELS.build(dict(
        type='ImageClassifier', num_classes=10,
        backbone=dict(type='SmallConvNet', in_channels=3, widths=(8, )),
        mean=(0.5, 0.5, 0.5), std=(0.2, 0.2, 0.2)))
    with pytest.raises(DataError, match=r'3-channel inputs \(model\.mean '
                       r'has 3 values\), got a batch of shape \(2, 1, 8, 8'):
        model(torch.rand(2, 1, 8, 8))
    assert model(torch.rand(2, 3, 8, 8)).shape == (2, 10)


def test_preprocessor_names_images_of_different_sizes():
    from rgl.registry import MODELS
    pre = MODELS.build(dict(type='ImageDataPreprocessor'))
    batch = dict(inputs=[torch.zeros(3, 8, 8, dtype=torch.uint8),
                         torch.zeros(3, 9, 8, dtype=torch.uint8)])
    with pytest.raises(DataError, match=r'differ in shape \(\(3, 8, 8\), '
                       r'\(3, 9, 8\)\); give the dataset an img_size'):
        pre(batch)
    batch['inputs'][1] = torch.zeros(3, 8, 8, dtype=torch.uint8)
    assert pre(batch)['inputs'].shape == (2, 3, 8, 8)


def test_rgl_debug_keeps_the_traceback(monkeypatch):
    monkeypatch.setenv('RGL_DEBUG', '1')

    def main():
        raise ConfigError('bad key')
    with pytest.raises(ConfigError, match='bad key'):
        run_cli(main)
