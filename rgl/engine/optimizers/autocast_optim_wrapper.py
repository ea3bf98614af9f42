from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from rgl.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """Mixed precision by autocast alone, on CPU or GPU.

    bfloat16 has float32's exponent range, so unlike fp16 it needs no loss
    scaling (REPA trains SiT in bf16 this way). mmengine's
    ``AmpOptimWrapper`` refuses to run without an accelerator; ``--amp`` on
    a CPU-only machine selects this wrapper instead.

    Args:
        dtype (str): ``'bfloat16'`` (default) or ``'float16'``.
    """

    def __init__(self, dtype='bfloat16', **kwargs):
        super().__init__(**kwargs)
        self.cast_dtype = getattr(torch, dtype) if isinstance(dtype,
                                                              str) else dtype

    @contextmanager
    def optim_context(self, model):
        device = next(model.parameters()).device.type
        with super().optim_context(model), torch.autocast(
                device_type=device, dtype=self.cast_dtype):
            yield
