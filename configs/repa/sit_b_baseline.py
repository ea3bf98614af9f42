# Vanilla SiT-B/2 without alignment, REPA's baseline (FID 33.0 at 400K w/o
# CFG, from the REPA paper's table).
#   tools/dist_train.sh configs/repa/sit_b_baseline.py 8
_base_ = ['./_base_/sit_imagenet256.py']

model = dict(backbone=dict(arch='B/2'), aligners=None)
