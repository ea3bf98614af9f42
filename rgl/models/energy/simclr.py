"""The contrastive latent guide h_φ of CLEL: a SimCLR encoder."""
import torch.nn.functional as F
from torch import nn

from rgl.registry import MODELS
from .heads import mlp


@MODELS.register_module()
class SimCLREncoder(nn.Module):
    """Any registered backbone followed by SimCLR's MLP head (with BN).

    Paper: a CIFAR ResNet-18 (3x3 stem, no max-pool) and the head
    [512, 2048, 128]. Backbone outputs that are a tuple (mmpretrain) give
    their last entry; feature maps are average pooled.

    Args:
        backbone (dict): config of the backbone.
        feat_dim (int): width of the pooled backbone features.
        hidden_dim (int): hidden width of the head.
        out_dim (int): latent width (must equal the EBM's projection).
    """

    #: CLEL trains a SimCLREncoder with its NT-Xent loss; a frozen
    #: encoder (MAE, DINOv2, ...) is only read
    trainable = True

    def __init__(self, backbone, feat_dim=512, hidden_dim=2048, out_dim=128):
        super().__init__()
        self.backbone = MODELS.build(backbone) if isinstance(
            backbone, dict) else backbone
        self.head = mlp([feat_dim, hidden_dim, out_dim], bias=True, slope=0,
                        norm=True)
        self.out_dim = int(out_dim)

    def forward(self, x):
        h = self.backbone(x)
        if isinstance(h, (tuple, list)):
            h = h[-1]
        if h.dim() == 4:
            h = F.adaptive_avg_pool2d(h, 1).flatten(1)
        return self.head(h)
