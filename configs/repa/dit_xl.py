# DiT-XL/2 + REPA (DINOv2-B, depth 8, λ = 0.5), trained as DiT (DDPM,
# learned sigma, hybrid loss).
#   tools/dist_train.sh configs/repa/dit_xl.py 8
_base_ = ['./_base_/dit_imagenet256.py']

model = dict(
    backbone=dict(arch='XL/2'),
    aligners=[
        dict(type='REPAAligner', encoders=[{{_base_.dinov2_b}}], depth=8,
             projector_dim=2048, loss_weight=0.5)
    ])
