"""Strict loading into models (init_model, load_model_weights) and a loader
that registers its own allow-list (no dependence on rgl/__init__)."""
import os.path as osp
import subprocess
import sys
import textwrap
import warnings

import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer

from conftest import REPO_ROOT
from rgl.apis import init_model
from rgl.utils import CheckpointError, load_checkpoint_file, load_model_weights

CFG = osp.join(REPO_ROOT, 'configs/digits/smallconvnet_1xb64-20e_digits.py')
NARROW = {'model.backbone.widths': (16, 64)}


def _save(model, path, **extra):
    torch.save(dict(state_dict=model.state_dict(), **extra), path)
    return str(path)


def test_init_model_is_strict_and_names_file_and_keys(tmp_path):
    ckpt = _save(init_model(CFG, cfg_options=NARROW), tmp_path / 'narrow.pth')
    with pytest.raises(CheckpointError) as err:
        init_model(CFG, ckpt)
    msg = str(err.value)
    assert '\n' not in msg and msg.startswith(ckpt)
    # the first stage's conv: 16 output channels in the file, 32 in the model
    assert "'backbone.stages.0.0.weight' (checkpoint [16, 1, 3, 3], " \
        'model [32, 1, 3, 3])' in msg
    assert 'strict=False' in msg


def test_missing_and_unexpected_keys(tmp_path):
    model = init_model(CFG)
    state = dict(model.state_dict())
    state.pop('head.bias')
    state['extra.weight'] = torch.zeros(1)
    path = str(tmp_path / 'keys.pth')
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"1 missing: 'head.bias'; "
                       r"1 unexpected: 'extra.weight'"):
        init_model(CFG, path)


def test_non_strict_loads_what_matches_and_says_what_it_skipped(tmp_path):
    torch.manual_seed(0)
    narrow = init_model(CFG, cfg_options=NARROW)
    ckpt = _save(narrow, tmp_path / 'narrow.pth')
    with pytest.warns(UserWarning, match=r'narrow.pth: loading non-strictly'
                      r', skipped .*backbone.stages.0.0.weight'):
        model = init_model(CFG, ckpt, strict=False)
    # the second stage has the same shapes in both: loaded
    key = 'backbone.stages.1.3.weight'
    torch.testing.assert_close(model.state_dict()[key],
                               narrow.state_dict()[key])
    assert not torch.equal(model.state_dict()['backbone.stages.0.0.weight'][
        :16], narrow.state_dict()['backbone.stages.0.0.weight'])


def test_matching_checkpoint_loads_silently_and_ddp_prefix(tmp_path):
    torch.manual_seed(1)
    src = init_model(CFG)
    path = str(tmp_path / 'ddp.pth')
    torch.save({'state_dict': {'module.' + k: v
                               for k, v in src.state_dict().items()}}, path)
    model = init_model(CFG, cfg_options=None)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        load_model_weights(model, path)
    for k, v in src.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k


def _mmengine_checkpoint(path):
    buffer = HistoryBuffer()
    buffer.update(1.0)
    torch.save(dict(state_dict=init_model(CFG).state_dict(),
                    message_hub=dict(log_scalars={'loss': buffer})), path)
    return str(path)


def test_loader_registers_its_own_allow_list(tmp_path):
    """After the process-wide allow-list and mmengine's loader have been
    reset (as if rgl/__init__ had never run), loading still works."""
    from mmengine.runner.checkpoint import CheckpointLoader, load_from_local

    from rgl.utils.checkpoint import register_safe_globals
    path = _mmengine_checkpoint(tmp_path / 'mm.pth')
    saved = torch.serialization.get_safe_globals()
    try:
        torch.serialization.clear_safe_globals()
        CheckpointLoader._register_scheme('', load_from_local, force=True)
        ckpt = load_checkpoint_file(path)
        assert ckpt['message_hub']['log_scalars']['loss'].current() == 1.0
        # and the route of mmengine's loader is back in place
        assert CheckpointLoader._schemes[''] is not load_from_local
        torch.serialization.clear_safe_globals()
        CheckpointLoader._register_scheme('', load_from_local, force=True)
        register_safe_globals()  # what tools call before a Runner loads
        ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
        assert 'message_hub' in ckpt
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(saved)
        register_safe_globals()


def test_init_model_next_to_a_folder_named_rgl(tmp_path):
    """A script beside a folder called ``rgl``: Python makes that folder a
    namespace package and rgl/__init__ never runs (with an editable
    install); init_model must still load an mmengine checkpoint."""
    path = _mmengine_checkpoint(tmp_path / 'mm.pth')
    (tmp_path / 'rgl').mkdir()
    (tmp_path / 'script.py').write_text(textwrap.dedent(f'''
        import rgl
        from rgl.apis import init_model
        model = init_model({CFG!r}, {path!r})
        print('loaded', type(model).__name__)
    '''))
    env = dict(__import__('os').environ, OMP_NUM_THREADS='1')
    res = subprocess.run([sys.executable, 'script.py'], cwd=tmp_path,
                         capture_output=True, text=True, env=env,
                         timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'loaded ImageClassifier' in res.stdout


def test_old_checkpoint_without_batchnorm_counters_loads(tmp_path):
    """torch < 0.4.1 saved no ``num_batches_tracked``; torch fills it in,
    so the strict check does not call it missing."""
    src = init_model(CFG)
    state = {k: v for k, v in src.state_dict().items()
             if not k.endswith('num_batches_tracked')}
    path = str(tmp_path / 'old.pth')
    torch.save(state, path)
    model = init_model(CFG, path)
    assert torch.equal(model.state_dict()['head.weight'],
                       src.state_dict()['head.weight'])
