# iREPA (Singh et al., 2025, "What matters for representation alignment:
# global information or spatial structure?"): REPA with a 3x3 conv projector
# on the token grid and spatially normalised targets. SiT-XL/2, DINOv2-B,
# depth 8, ImageNet 256², batch 256, 400K iterations; the official LDM
# recipe (ldm/configs/irepa.yaml + ldm/train.py): proj_coeff 1.0,
# spnorm zscore with alpha (γ) 0.6. The README's snippet has kernel 3; the
# LDM script's --proj-kwargs-kernel-size defaults to 1, so pass 3 there.
#   tools/dist_train.sh configs/irepa/sit_xl.py 8
_base_ = ['../repa/_base_/sit_imagenet256.py']

model = dict(
    backbone=dict(arch='XL/2'),
    aligners=[
        dict(type='REPAAligner', encoders=[{{_base_.dinov2_b}}], depth=8,
             projector='conv', projector_kernel_size=3,
             spatial_norm=dict(gamma=0.6, eps=1e-6), loss_weight=1.0)
    ])
