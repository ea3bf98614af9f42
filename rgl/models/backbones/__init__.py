from .ddt import DDT
from .dit import DiT
from .lightning_dit import LightningDiT
from .sit import SiT
from .small_convnet import SmallConvNet
from .cifar_resnet import CifarResNet
from .wide_resnet import WideResNet

__all__ = [
    'CifarResNet', 'WideResNet', 'DDT', 'DiT', 'LightningDiT', 'SiT',
    'SmallConvNet'
]
