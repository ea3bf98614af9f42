"""rgl's shipped files (rgl/.mim), ``rgl::`` base configs and the ``rgl``
command, from a folder other than the repository."""
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from conftest import REPO_ROOT
from rgl.cli.main import expand_config_args, main
from rgl.utils.assets import (find_tool, list_tools, mim_root,
                              register_config_package, resolve_asset,
                              shipped_path)

ENCODER = 'assets/encoders/mae_vit-tiny-p4_digits.pth'


def test_mim_links_to_the_repository():
    # a source checkout / editable install sees the live files
    assert mim_root() == osp.join(REPO_ROOT, 'rgl', '.mim')
    for name in ('configs', 'tools', 'assets'):
        assert osp.samefile(shipped_path(name), osp.join(REPO_ROOT, name))
    assert osp.isfile(osp.join(mim_root(), 'model-index.yml'))


def test_resolve_asset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shipped = resolve_asset(ENCODER)
    assert osp.isabs(shipped) and osp.samefile(
        shipped, osp.join(REPO_ROOT, ENCODER))
    assert osp.samefile(resolve_asset('./' + ENCODER), shipped)
    # the user's own file of that name wins
    (tmp_path / 'assets' / 'encoders').mkdir(parents=True)
    (tmp_path / ENCODER).write_bytes(b'mine')
    assert resolve_asset(ENCODER) == ENCODER
    # missing files outside the shipped folders are left for the caller
    assert resolve_asset('checkpoints/x.pth') == 'checkpoints/x.pth'
    assert resolve_asset('assets/nope.pth') == 'assets/nope.pth'
    assert resolve_asset(None) is None
    assert osp.samefile(
        resolve_asset('configs/digits/smallconvnet_1xb64-20e_digits.py'),
        osp.join(REPO_ROOT, 'configs/digits/smallconvnet_1xb64-20e_digits.py'))


def test_find_tool():
    tools = list_tools()
    assert {'train', 'test', 'certify', 'sample', 'dist_train',
            'analysis_tools/get_flops'} <= set(tools)
    assert find_tool('train') == tools['train']
    assert find_tool('train.py') == tools['train']
    assert find_tool('dist-train') == tools['dist_train']
    assert find_tool('get_flops') == tools['analysis_tools/get_flops']
    assert find_tool('get-flops') == tools['analysis_tools/get_flops']
    assert find_tool('misc/print_config').endswith('print_config.py')
    assert find_tool('no_such_tool') is None


def test_unknown_tool_and_listing(capsys):
    assert main(['trian']) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: unknown tool') and 'train' in err
    assert main(['tools']) == 0
    out = capsys.readouterr().out
    assert 'dist-train' in out and 'get_flops' in out
    # `rgl list` is the model zoo (tests/test_model_zoo_list.py)
    assert main(['list', '--family', 'digits', '--format', 'names']) == 0
    assert 'smallconvnet_1xb64-20e_digits' in capsys.readouterr().out.split()
    assert main(['--version']) == 0


def _unscoped(node):
    if isinstance(node, dict):
        return {k: _unscoped(v) for k, v in node.items() if k != '_scope_'}
    if isinstance(node, (list, tuple)):
        return type(node)(_unscoped(v) for v in node)
    return node


def test_rgl_base_config_from_another_folder(tmp_path, monkeypatch):
    register_config_package()
    register_config_package()  # idempotent
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'mine.py').write_text(
        "_base_ = 'rgl::digits/smallconvnet_1xb64-20e_digits.py'\n"
        "model = dict(backbone=dict(widths=(8, 16)))\n")
    cfg = Config.fromfile('mine.py')
    ref = Config.fromfile(
        osp.join(REPO_ROOT, 'configs/digits/smallconvnet_1xb64-20e_digits.py'))
    assert cfg.model.backbone.widths == (8, 16)
    assert cfg.model.type == ref.model.type == 'ImageClassifier'
    # mmengine marks the dicts of another package's base with its scope
    assert cfg.train_dataloader.dataset._scope_ == 'rgl'
    assert _unscoped(cfg.train_dataloader) == ref.train_dataloader
    # nested relative bases of the shipped file (../_base_/...) resolve too
    (tmp_path / 'repa.py').write_text("_base_ = 'rgl::repa/sit_b.py'\n")
    assert Config.fromfile('repa.py').model.type == Config.fromfile(
        osp.join(REPO_ROOT, 'configs/repa/sit_b.py')).model.type
    (tmp_path / 'bad.py').write_text("_base_ = 'rgl::repa/nope.py'\n")
    with pytest.raises(FileNotFoundError, match='nope.py'):
        Config.fromfile('bad.py')


def test_config_arguments_expand():
    path = expand_config_args(
        ['rgl::digits/smallconvnet_1xb64-20e_digits.py', '--x', 'a.py'])
    assert osp.samefile(
        path[0],
        osp.join(REPO_ROOT, 'configs/digits/smallconvnet_1xb64-20e_digits.py'))
    assert path[1:] == ['--x', 'a.py']
    with pytest.raises(FileNotFoundError, match='rgl::digits/nope.py'):
        expand_config_args(['rgl::digits/nope.py'])


def _run_cli(args, cwd):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.pop('PYTHONPATH', None)
    env.pop('RGL_DEBUG', None)
    return subprocess.run([sys.executable, '-m', 'rgl.cli'] + args, cwd=cwd,
                          env=env, capture_output=True, text=True,
                          timeout=300)


def test_cli_custom_imports_from_the_working_directory(tmp_path):
    # a module of the user's, next to the config, without PYTHONPATH=.
    (tmp_path / 'my_ext.py').write_text(
        'from rgl.registry import MODELS\n'
        'from torch import nn\n\n\n'
        '@MODELS.register_module()\n'
        'class MyExtNet(nn.Identity):\n'
        '    pass\n\n\n'
        "print('my_ext imported')\n")
    (tmp_path / 'cfg.py').write_text(
        "_base_ = 'rgl::digits/smallconvnet_1xb64-20e_digits.py'\n"
        "custom_imports = dict(imports=['my_ext'],\n"
        '                      allow_failed_imports=False)\n'
        "model = dict(backbone=dict(_delete_=True, type='MyExtNet'))\n")
    out = _run_cli(['print_config', 'cfg.py'], tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert 'my_ext imported' in out.stdout
    assert "type='MyExtNet'" in out.stdout
    # a shipped config as the argument; and the tool's own error exit
    out = _run_cli(
        ['print_config', 'rgl::digits/smallconvnet_1xb64-20e_digits.py'],
        tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "type='SmallConvNet'" in out.stdout
    out = _run_cli(['print_config', 'missing.py'], tmp_path)
    assert out.returncode == 2 and 'error:' in out.stderr
