"""A downstream project on rgl.

Importing it registers its modules in rgl's registries; configs name it in
``custom_imports = dict(imports=['rgl_example'])`` and then use the new
types by name, like rgl's own.
"""
from .models import ExampleResNet, LabelSmoothedGaussianLoss

__all__ = ['ExampleResNet', 'LabelSmoothedGaussianLoss']
