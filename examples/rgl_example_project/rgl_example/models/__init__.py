from .example_resnet import ExampleResNet
from .label_smoothed_gaussian import LabelSmoothedGaussianLoss

__all__ = ['ExampleResNet', 'LabelSmoothedGaussianLoss']
