from torch import nn

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError
from rgl.utils.shapes import CHANNELS_HINT, check_input_shape


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, c_in, c_out, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(c_in, c_out, stride)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else
                                self.downsample(x)))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, c_in, planes, stride=1):
        super().__init__()
        c_out = planes * 4
        self.conv1 = nn.Conv2d(c_in, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, c_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(c_in, c_out, stride)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else
                                self.downsample(x)))


def _shortcut(c_in, c_out, stride):
    # projection shortcut (1x1 conv + BN) where the shape changes
    if stride == 1 and c_in == c_out:
        return None
    return nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                         nn.BatchNorm2d(c_out))


@MODELS.register_module()
class CifarResNet(nn.Module):
    """The 3-stage ResNet for 32x32 images (He et al. 2016, Sec. 4.2), as
    used by Cohen et al. (2019) and CAT-RS (``cifar_resnet110``).

    ``depth = 6n + 2`` with basic blocks (``9n + 2`` with bottlenecks);
    stages of 16, 32, 64 channels at strides 1, 2, 2. Returns the last
    feature map ``(N, 64·e, H/4, W/4)``; the classifier pools it. Stages are
    ``layer1..layer3`` for feature taps.

    Args:
        depth (int): 20, 32, 44, 56, 110, ... (see :attr:`arch_settings`).
        in_channels (int): image channels.
        block (str): ``'basic'`` or ``'bottleneck'``.
        base_width (int): channels of the first stage.
    """

    arch_settings = {d: 'basic' for d in (20, 32, 44, 56, 110, 1202)}

    def __init__(self, depth=110, in_channels=3, block='basic',
                 base_width=16):
        super().__init__()
        if block not in ('basic', 'bottleneck'):
            raise ConfigError(f"CifarResNet.block must be 'basic' or "
                              f"'bottleneck', got {block!r}")
        unit = BasicBlock if block == 'basic' else Bottleneck
        per = 6 if block == 'basic' else 9
        if depth < per + 2 or (depth - 2) % per:
            raise ConfigError(f'CifarResNet.depth must be {per}n+2 for '
                              f'{block} blocks, got {depth}')
        n = (depth - 2) // per
        self.conv1 = nn.Conv2d(in_channels, base_width, 3, 1, 1, bias=False)
        self.in_channels = in_channels
        self.bn1 = nn.BatchNorm2d(base_width)
        self.relu = nn.ReLU(inplace=True)
        c_in, layers = base_width, []
        for i, stride in enumerate((1, 2, 2)):
            planes = base_width * 2**i
            blocks = []
            for j in range(n):
                blocks.append(unit(c_in, planes, stride if j == 0 else 1))
                c_in = planes * unit.expansion
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.out_channels = c_in
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out',
                                        nonlinearity='relu')

    def forward(self, x):
        check_input_shape(x, type(self).__name__, self.in_channels,
                          hint=CHANNELS_HINT)
        x = self.relu(self.bn1(self.conv1(x)))
        return self.layer3(self.layer2(self.layer1(x)))
