from torch import nn

from rgl.registry import MODEL_WRAPPERS
from rgl.utils.errors import ConfigError


@MODEL_WRAPPERS.register_module()
class InferenceModelWrapper(nn.Module):
    """Multi-process wrapper for models that are only evaluated.

    ``DistributedDataParallel`` refuses a module without trainable
    parameters (WinCLIP's CLIP is frozen) and would allocate gradient
    buckets for nothing. Evaluation needs no gradient synchronisation: each
    rank predicts its shard and mmengine's evaluator gathers the results, so
    this wrapper only delegates ``val_step``/``test_step``.
    Set ``model_wrapper_cfg = dict(type='rgl.InferenceModelWrapper')``
    (with the scope: mmengine looks wrappers up before rgl's scope is set).
    """

    def __init__(self, module, **kwargs):
        super().__init__()
        self.module = module

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def val_step(self, data):
        return self.module.val_step(data)

    def test_step(self, data):
        return self.module.test_step(data)

    def train_step(self, data, optim_wrapper):
        raise ConfigError(f'{type(self.module).__name__} is evaluated only; '
                          'InferenceModelWrapper cannot train it')
