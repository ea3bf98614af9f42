# iREPA on SiT-B/2 (the official README's LDM example: encoder depth 4),
# DINOv2-B target; otherwise as configs/irepa/sit_xl.py.
#   tools/dist_train.sh configs/irepa/sit_b.py 8
_base_ = ['./sit_xl.py']

model = dict(backbone=dict(arch='B/2'), aligners=[
    dict(type='REPAAligner', encoders=[{{_base_.dinov2_b}}], depth=4,
         projector='conv', projector_kernel_size=3,
         spatial_norm=dict(gamma=0.6, eps=1e-6), loss_weight=1.0)
])
