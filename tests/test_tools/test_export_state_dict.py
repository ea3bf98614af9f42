"""tools/export_state_dict.py keeps one prefix as a plain state dict."""
import importlib.util

import pytest
import torch

from conftest import REPO_ROOT
from rgl.utils.errors import CheckpointError


def _tool():
    spec = importlib.util.spec_from_file_location(
        'export_state_dict', f'{REPO_ROOT}/tools/export_state_dict.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_export_prefix(tmp_path):
    ckpt = tmp_path / 'epoch_1.pth'
    torch.save(dict(state_dict={'backbone.w': torch.ones(2),
                                'neck.v': torch.zeros(3)},
                    meta=dict(epoch=1), optimizer={}), ckpt)
    out = tmp_path / 'out' / 'enc.pth'
    _tool().main([str(ckpt), str(out), '--prefix', 'backbone.', '--half'])
    sd = torch.load(out, weights_only=True)
    assert list(sd) == ['w'] and sd['w'].dtype == torch.float16
    with pytest.raises(CheckpointError, match='epoch_1.pth.*--prefix'):
        _tool().main([str(ckpt), str(out), '--prefix', 'encoder.'])
