"""Two optimisers for CLEL: Adam for the EBM, SGD for the guide."""
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from torch import nn

from rgl.registry import OPTIM_WRAPPER_CONSTRUCTORS
from rgl.utils.errors import ConfigError


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class CLELOptimWrapperConstructor:
    """Build ``OptimWrapperDict(ebm=..., guide=...)`` from
    ``optim_wrapper = dict(constructor='CLELOptimWrapperConstructor',
    ebm=dict(optimizer=...), guide=dict(optimizer=...))``; ``ebm`` covers
    the backbone and head. Without a guide only ``ebm`` is built.
    """

    def __init__(self, optim_wrapper_cfg, paramwise_cfg=None):
        if 'ebm' not in optim_wrapper_cfg:
            raise ConfigError('optim_wrapper.ebm is required by '
                              'CLELOptimWrapperConstructor')
        self.cfg = optim_wrapper_cfg

    def __call__(self, model):
        model = getattr(model, 'module', model)
        parts = dict(ebm=nn.ModuleList([model.backbone, model.head]))
        if getattr(model, 'guide_trainable', False):
            if 'guide' not in self.cfg:
                raise ConfigError('optim_wrapper.guide is required: the '
                                  'model trains its latent guide')
            parts['guide'] = model.guide
        wrappers = {}
        for name, module in parts.items():
            cfg = dict(self.cfg[name])
            cfg.setdefault('type', 'OptimWrapper')
            wrappers[name] = DefaultOptimWrapperConstructor(
                cfg, cfg.pop('paramwise_cfg', None))(module)
        return OptimWrapperDict(**wrappers)
