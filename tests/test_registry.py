import subprocess
import sys
import textwrap

import pytest
from mmengine.config import Config
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import DefaultScope, init_default_scope

import rgl.registry as reg


def test_every_root_registry_has_an_rgl_child():
    import mmengine.registry as root
    for name in reg.__all__:
        registry = getattr(reg, name)
        assert registry.scope == 'rgl', name
        if name == 'SAMPLERS':
            assert registry.parent is None
            continue
        assert registry.parent is getattr(root, name), name
        assert registry.parent.children['rgl'] is registry


def test_lookup_imports_the_location_lazily():
    code = textwrap.dedent("""
        import sys
        import rgl, rgl.registry
        assert 'rgl.models' not in sys.modules, 'eager import'
        assert 'rgl.datasets' not in sys.modules, 'eager import'
        cls = rgl.registry.MODELS.get('SmallConvNet')
        assert cls.__module__ == 'rgl.models.backbones.small_convnet'
        assert 'rgl.models' in sys.modules
        assert rgl.registry.DATASETS.get('DigitsDataset') is not None
        print('ok')
    """)
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == 'ok'


def test_default_scope_resolves_rgl_then_mmengine_then_other_scopes():
    init_default_scope('rgl')
    net = MMENGINE_MODELS.build(dict(type='SmallConvNet', widths=(4, )))
    assert type(net).__name__ == 'SmallConvNet'
    # mmengine's own modules are reachable through the parent
    assert reg.OPTIM_WRAPPERS.get('OptimWrapper') is not None
    # another OpenMMLab package by its scope prefix
    resnet = reg.MODELS.build(
        dict(type='mmpretrain.ResNet_CIFAR', depth=18))
    assert type(resnet).__module__.startswith('mmpretrain')


def test_downstream_package_registers_with_custom_imports(
        tmp_path, monkeypatch):
    pkg = tmp_path / 'my_ext'
    pkg.mkdir()
    (pkg / '__init__.py').write_text('')
    (pkg / 'nets.py').write_text(textwrap.dedent("""
        from torch import nn
        from rgl.registry import MODELS

        @MODELS.register_module()
        class DownstreamNet(nn.Module):
            def __init__(self, width=3):
                super().__init__()
                self.out_channels = width
                self.conv = nn.Conv2d(1, width, 3)

            def forward(self, x):
                return self.conv(x)
    """))
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text(textwrap.dedent("""
        default_scope = 'rgl'
        custom_imports = dict(imports=['my_ext.nets'],
                              allow_failed_imports=False)
        model = dict(type='ImageClassifier', num_classes=10,
                     backbone=dict(type='DownstreamNet', width=5))
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = Config.fromfile(str(cfg_file))
    with DefaultScope.overwrite_default_scope('rgl'):
        model = reg.MODELS.build(cfg.model)
    assert type(model.backbone).__name__ == 'DownstreamNet'
    assert model.head.in_features == 5


def test_unknown_type_error_names_the_type():
    init_default_scope('rgl')
    with pytest.raises(KeyError, match='SmallConvNett'):
        reg.MODELS.build(dict(type='SmallConvNett'))
