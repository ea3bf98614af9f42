from torch import nn

from rgl.registry import MODELS
from rgl.utils.shapes import CHANNELS_HINT, check_input_shape


@MODELS.register_module()
class SmallConvNet(nn.Module):
    """A few conv-BN-ReLU stages with stride-2 downsampling.

    The tiny backbone of rgl's quickstarts (digits at 8x8 to 64x64). Stages
    are named ``stages.0`` ... so a feature tap can read any of them.

    Args:
        in_channels (int): image channels.
        widths (Sequence[int]): output channels of each stage; every stage
            halves the resolution.
    """

    def __init__(self, in_channels=1, widths=(32, 64)):
        super().__init__()
        stages, c_in = [], in_channels
        self.in_channels = in_channels
        for c_out in widths:
            stages.append(
                nn.Sequential(
                    nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                    nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                    nn.Conv2d(c_out, c_out, 3, stride=2, padding=1,
                              bias=False), nn.BatchNorm2d(c_out),
                    nn.ReLU(inplace=True)))
            c_in = c_out
        self.stages = nn.Sequential(*stages)
        self.out_channels = c_in

    def forward(self, x):
        check_input_shape(x, type(self).__name__, self.in_channels,
                          hint=CHANNELS_HINT)
        return self.stages(x)
