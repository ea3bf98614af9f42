from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from rgl.registry import HOOKS
from rgl.utils.errors import ConfigError


def alignment_modules(model):
    """Every submodule with an ``alignment_enabled`` switch (REPAAligner,
    HASTEAligner and any aligner that follows the same protocol)."""
    return [(name, m) for name, m in model.named_modules()
            if isinstance(getattr(m, 'alignment_enabled', None), bool)]


@HOOKS.register_module()
class AlignmentEarlyStopHook(Hook):
    """Switch the alignment terms off from iteration ``stop_iter`` on.

    HASTE's stage-wise termination (Wang et al., 2025): the REPA feature
    loss and the attention distillation help early and hinder later, so
    both stop at a fixed iteration (250K for SiT-XL/2). From then on every
    aligner's loss keys are exact zeros and the encoders, projectors and
    attention maps are not computed. Works for any module with an
    ``alignment_enabled`` flag.

    The switch is decided from ``runner.iter`` (iterations done) before
    each training iteration, the same rule as the official
    ``global_step >= early_stop_point``, so a run resumed on either side of
    the switch continues exactly as the uninterrupted one.

    Args:
        stop_iter (int): first iteration (0-based) without alignment.
        modules (Sequence[str], optional): dotted names of the aligners to
            switch (e.g. ``['aligners.0']``); default: all of them.
    """

    priority = 'NORMAL'

    def __init__(self, stop_iter, modules=None):
        if not isinstance(stop_iter, int) or stop_iter < 0:
            raise ConfigError(f'AlignmentEarlyStopHook.stop_iter must be a '
                              f'non-negative int, got {stop_iter!r}')
        self.stop_iter = stop_iter
        self.modules = list(modules) if modules is not None else None
        self._cache = None

    def _targets(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        found = dict(alignment_modules(model))
        if self.modules is None:
            targets = list(found.values())
        else:
            missing = [m for m in self.modules if m not in found]
            if missing:
                raise ConfigError(
                    f'AlignmentEarlyStopHook.modules {missing} are not '
                    f'aligners of the model; it has {sorted(found)}')
            targets = [found[m] for m in self.modules]
        if not targets:
            raise ConfigError('AlignmentEarlyStopHook: the model has no '
                              'aligner (no module with `alignment_enabled`)')
        return targets

    def before_train(self, runner):
        self._cache = self._targets(runner)
        # Under DDP, parameters that stop receiving gradients (the
        # projectors) make the reducer fail at the switch: say so now,
        # not after 250K iterations.
        if is_model_wrapper(runner.model) and self.stop_iter < \
                runner.max_iters and not getattr(
                    runner.model, 'find_unused_parameters', True):
            raise ConfigError(
                'AlignmentEarlyStopHook: distributed training needs '
                "model_wrapper_cfg=dict(type='MMDistributedDataParallel', "
                'find_unused_parameters=True), because the projectors get '
                'no gradient after the stop')

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        enabled = runner.iter < self.stop_iter
        if self._cache is None:
            self._cache = self._targets(runner)
        for module in self._cache:
            module.alignment_enabled = enabled
