from torch import nn

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError
from rgl.utils.shapes import CHANNELS_HINT, check_input_shape


class PreActBlock(nn.Module):
    """BN-ReLU-conv3x3-(dropout)-BN-ReLU-conv3x3 with a 1x1 projection
    where the shape changes (Zagoruyko & Komodakis 2016)."""

    def __init__(self, c_in, c_out, stride, drop_rate):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.drop = nn.Dropout(drop_rate) if drop_rate > 0 else \
            nn.Identity()
        self.shortcut = None if (stride == 1 and c_in == c_out) else \
            nn.Conv2d(c_in, c_out, 1, stride, bias=False)

    def forward(self, x):
        act = self.relu(self.bn1(x))
        # the projection reads the pre-activated input, as in the paper
        skip = x if self.shortcut is None else self.shortcut(act)
        out = self.conv1(act)
        out = self.conv2(self.drop(self.relu(self.bn2(out))))
        return out + skip


@MODELS.register_module()
class WideResNet(nn.Module):
    """WRN-d-k for 32x32 images (Zagoruyko & Komodakis 2016).

    ``depth = 6n + 4``; stages of 16k, 32k, 64k channels at strides 1, 2,
    2; pre-activation blocks and a final BN-ReLU. Returns the feature map
    ``(N, 64k, H/4, W/4)``. Stages are ``block1..block3``.

    Args:
        depth (int): 28 for WRN-28-10, 40, 16, ...
        widen_factor (int): k.
        drop_rate (float): dropout between the two convolutions.
        in_channels (int): image channels.
    """

    arch_settings = {'28-10': (28, 10), '40-2': (40, 2), '16-8': (16, 8),
                     '34-10': (34, 10)}

    def __init__(self, depth=28, widen_factor=10, drop_rate=0.0,
                 in_channels=3):
        super().__init__()
        if depth < 10 or (depth - 4) % 6:
            raise ConfigError(f'WideResNet.depth must be 6n+4, got {depth}')
        n = (depth - 4) // 6
        widths = [16, 16 * widen_factor, 32 * widen_factor,
                  64 * widen_factor]
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        self.in_channels = in_channels
        stages, c_in = [], widths[0]
        for i, stride in enumerate((1, 2, 2)):
            blocks = []
            for j in range(n):
                blocks.append(PreActBlock(c_in, widths[i + 1],
                                          stride if j == 0 else 1,
                                          drop_rate))
                c_in = widths[i + 1]
            stages.append(nn.Sequential(*blocks))
        self.block1, self.block2, self.block3 = stages
        self.bn = nn.BatchNorm2d(c_in)
        self.relu = nn.ReLU(inplace=True)
        self.out_channels = c_in
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out',
                                        nonlinearity='relu')

    def forward(self, x):
        check_input_shape(x, type(self).__name__, self.in_channels,
                          hint=CHANNELS_HINT)
        x = self.block3(self.block2(self.block1(self.conv1(x))))
        return self.relu(self.bn(x))
