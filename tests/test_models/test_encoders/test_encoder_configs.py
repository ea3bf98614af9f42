"""Every config snippet in configs/repa/encoders names a registered type
whose constructor accepts its keys."""
import glob
import inspect
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import REPO_ROOT
from rgl.registry import MODELS

SNIPPETS = sorted(
    p for p in glob.glob(osp.join(REPO_ROOT, 'configs/repa/encoders/*.py'))
    if 'digits.py' not in osp.basename(p) or 'encoder' in osp.basename(p))


@pytest.mark.parametrize('path', SNIPPETS, ids=osp.basename)
def test_snippet_builds_signature(path):
    cfg = Config.fromfile(path)
    part = cfg.get('encoder') or cfg.get('vae')
    assert part is not None, path
    cls = MODELS.get(part['type'])
    assert cls is not None, part['type']
    kwargs = {k: v for k, v in part.items() if k != 'type'}
    inspect.signature(cls).bind(**kwargs)
    key = 'checkpoint' if 'checkpoint' in part else 'pretrained'
    assert part[key].startswith(('checkpoints/', 'assets/'))
