from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from rgl.registry import HOOKS
from rgl.utils.errors import ConfigError


@HOOKS.register_module()
class LossParamHook(Hook):
    """Set attributes of the training objective by epoch.

    Certified-training recipes change loss hyper-parameters during training:
    MACER defers its robustness term (λ = 0 first), CAT-RS on ImageNet
    doubles ε after a warm-up epoch. The value in force at epoch ``e`` is the
    one of the largest milestone ``<= e``, so a resumed run sets the same
    value as the uninterrupted one.

    Args:
        schedule (dict[str, dict[int, float]]): attribute of
            ``model.<module>`` → ``{first_epoch: value}``, epochs 0-based,
            e.g. ``dict(epsilon={0: 1.0, 80: 2.0})``.
        module (str): dotted path of the objective in the model.
    """

    priority = 'NORMAL'

    def __init__(self, schedule, module='train_loss'):
        if not schedule:
            raise ConfigError('LossParamHook.schedule is empty')
        self.schedule = {
            attr: sorted((int(e), v) for e, v in steps.items())
            for attr, steps in schedule.items()
        }
        self.module = module

    def _target(self, runner):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        try:
            target = model.get_submodule(self.module)
        except AttributeError:
            raise ConfigError(f'LossParamHook.module: the model has no '
                              f'`{self.module}`') from None
        for attr in self.schedule:
            if not hasattr(target, attr):
                raise ConfigError(f'LossParamHook: {type(target).__name__} '
                                  f'has no attribute `{attr}`')
        return target

    def value_at(self, attr, epoch):
        value = None
        for first, v in self.schedule[attr]:
            if first <= epoch:
                value = v
        return value

    def before_train_epoch(self, runner):
        target = self._target(runner)
        for attr in self.schedule:
            value = self.value_at(attr, runner.epoch)
            if value is not None:
                setattr(target, attr, value)
