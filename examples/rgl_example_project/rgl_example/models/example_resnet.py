"""A small residual network, registered in rgl's MODELS."""
from torch import nn

from rgl.registry import MODELS


class ResidualStage(nn.Module):
    """conv-BN-ReLU-conv-BN + a strided 1x1 shortcut, then ReLU; halves
    the resolution."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out))
        self.shortcut = nn.Sequential(
            nn.Conv2d(c_in, c_out, 1, stride=2, bias=False),
            nn.BatchNorm2d(c_out))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.act(self.body(x) + self.shortcut(x))


@MODELS.register_module()
class ExampleResNet(nn.Module):
    """Residual stages ``stages.0``, ``stages.1``, ... each halving the
    resolution: a drop-in for rgl's ``SmallConvNet``.

    rgl's ``ImageClassifier`` pools the last feature map and reads the head
    width from ``out_channels``; a REPA aligner can tap any ``stages.i``.

    Args:
        in_channels (int): image channels.
        widths (Sequence[int]): channels of each stage.
    """

    def __init__(self, in_channels=1, widths=(32, 64)):
        super().__init__()
        stages, c_in = [], in_channels
        for c_out in widths:
            stages.append(ResidualStage(c_in, c_out))
            c_in = c_out
        self.stages = nn.Sequential(*stages)
        self.out_channels = c_in

    def forward(self, x):
        return self.stages(x)
