from .dit import DiT
from .sit import SiT
from .small_convnet import SmallConvNet
from .cifar_resnet import CifarResNet
from .wide_resnet import WideResNet

__all__ = ['CifarResNet', 'WideResNet', 'DiT', 'SiT', 'SmallConvNet']
