"""Register every ``torchvision.transforms.v2`` class as
``'torchvision/<Name>'`` in rgl's TRANSFORMS."""
import inspect

from torchvision.transforms import v2

from rgl.registry import TRANSFORMS

for _name, _cls in inspect.getmembers(v2, inspect.isclass):
    if issubclass(_cls, v2.Transform) and _cls is not v2.Transform:
        TRANSFORMS.register_module(f'torchvision/{_name}', module=_cls)
