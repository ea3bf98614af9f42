# REPA's main run: SiT-XL/2 + REPA (DINOv2-B, depth 8, λ = 0.5), ImageNet
# 256², 400K iterations at batch 256 (FID 7.9 w/o CFG; 4M: 5.9, 1.42 w/ CFG).
#   tools/dist_train.sh configs/repa/sit_xl.py 8
#   torchrun --nproc_per_node 8 tools/sample.py configs/repa/sit_xl.py \
#       work_dirs/sit_xl/iter_400000.pth --out work_dirs/sit_xl/fid50k \
#       --launcher pytorch --num-samples 50000
_base_ = ['./_base_/sit_imagenet256.py']

model = dict(
    backbone=dict(arch='XL/2'),
    aligners=[
        dict(type='REPAAligner', encoders=[{{_base_.dinov2_b}}], depth=8,
             projector_dim=2048, loss_weight=0.5)
    ])
