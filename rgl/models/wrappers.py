"""Model wrappers registered in rgl's ``MODEL_WRAPPERS``."""
from mmengine.model import MMDistributedDataParallel

from rgl.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class RglDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that also runs CPU modules under gloo.

    mmengine always passes ``device_ids=[LOCAL_RANK]``; torch requires
    ``device_ids=None`` for a module on the CPU, so it is dropped there and
    kept for CUDA modules.
    """

    def __init__(self, module, device_ids=None, **kwargs):
        first = next(iter(module.parameters()), None)
        if first is None or first.device.type == 'cpu':
            device_ids = None
        super().__init__(module=module, device_ids=device_ids, **kwargs)
