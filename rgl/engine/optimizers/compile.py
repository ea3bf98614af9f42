"""``compile=True`` for rgl's training step: torch.compile of the modules
that carry the compute, not of mmengine's whole ``train_step``.

mmengine 0.10 reads a top-level config key ``compile`` and wraps
``model.train_step`` in ``torch.compile``. That function holds the data
preprocessor, the loss parsing, ``backward`` and the optimizer step: dynamo
breaks the graph at each of them (and at ``.item()`` checks on the inputs),
recompiles when a batch's Python structure changes and traces AdamW over
every parameter. rgl reads the same key and compiles, in place
(``nn.Module.compile``, so state-dict keys, checkpoints, EMA and DDP are
unchanged), only

- ``model.backbone`` (the SiT/DiT, classifier, ...) with any feature tap
  that an aligner hooks onto it,
- each aligner's ``projectors`` (REPA's h_φ MLPs),
- each aligner's frozen ``encoders`` (DINOv2, MAE, ...: inference only),

or the dotted module paths listed in ``compile=dict(targets=[...])``. The
losses are a few element-wise ops on top of these and run eagerly.
"""
import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from torch import nn

from rgl.utils.errors import ConfigError


def compile_options(cfg_value):
    """``(targets, torch.compile kwargs)`` of a config's ``compile`` value
    (``True``, ``False``/``None`` or a dict of ``torch.compile`` options
    plus an optional ``targets`` list); ``None`` when compile is off."""
    if cfg_value is None or cfg_value is False:
        return None
    if cfg_value is True:
        return None, {}
    if not isinstance(cfg_value, dict):
        raise ConfigError(f'compile must be True, False or a dict of '
                          f'torch.compile options, got {cfg_value!r}')
    opts = dict(cfg_value)
    targets = opts.pop('targets', None)
    if targets is not None and (isinstance(targets, str) or not all(
            isinstance(t, str) for t in targets)):
        raise ConfigError(f'compile.targets must be a list of module paths, '
                          f'got {targets!r}')
    return targets, opts


def default_targets(model):
    """The compute-carrying modules of an rgl algorithm, as
    ``[(name, module)]``."""
    found = []
    if isinstance(getattr(model, 'backbone', None), nn.Module):
        found.append(('backbone', model.backbone))
    for i, aligner in enumerate(getattr(model, 'aligners', None) or ()):
        if isinstance(getattr(aligner, 'projectors', None), nn.Module):
            found.append((f'aligners.{i}.projectors', aligner.projectors))
        for k, enc in enumerate(getattr(aligner, 'encoders', None) or ()):
            found.append((f'aligners.{i}.encoders[{k}]', enc))
    return found


def compile_train_modules(model, cfg_value=True):
    """torch.compile ``model``'s compute modules in place.

    Args:
        model (nn.Module): the algorithm (unwrapped, or a DDP wrapper).
        cfg_value (bool | dict): the config's ``compile`` value.

    Returns:
        list[str]: the names of the compiled modules.
    """
    parsed = compile_options(cfg_value)
    if parsed is None:
        return []
    if not hasattr(torch, 'compile'):
        raise ConfigError('compile=True needs torch >= 2.0 (torch.compile)')
    targets, opts = parsed
    model = getattr(model, 'module', model)  # DDP / mmengine wrappers
    if targets is None:
        named = default_targets(model)
        if not named:
            raise ConfigError(
                f'compile=True: {type(model).__name__} has no `backbone`; '
                'name the modules in compile=dict(targets=[...])')
    else:
        named = []
        for name in targets:
            try:
                named.append((name, model.get_submodule(name)))
            except AttributeError:
                raise ConfigError(f'compile.targets: {type(model).__name__} '
                                  f'has no submodule {name!r}') from None
    for _, module in named:
        module.compile(**opts)
    return [name for name, _ in named]


class CompileHook(Hook):
    """Apply :func:`compile_train_modules` when training starts.

    It runs after every hook's ``before_run`` (the EMA hook has copied the
    model by then, so the averaged copy stays eager) and after checkpoint
    loading; ``tools/train.py`` registers it for ``compile=...`` with the
    lowest priority.

    Args:
        cfg_value (bool | dict): the config's ``compile`` value.
    """

    def __init__(self, cfg_value=True):
        compile_options(cfg_value)
        self.cfg_value = cfg_value
        self.compiled = []

    def before_train(self, runner):
        if self.compiled:
            return
        self.compiled = compile_train_modules(runner.model, self.cfg_value)
        print_log(f'torch.compile: {", ".join(self.compiled)} (the first '
                  'iterations compile and are slow)', logger='current')
