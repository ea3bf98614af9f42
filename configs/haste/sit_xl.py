# HASTE (Wang et al., 2025, "REPA works until it doesn't"): SiT-XL/2 +
# REPA's feature loss + attention distillation, both stopped at 250K.
# ImageNet 256², batch 256, 2.5M iterations (500 epochs), where HASTE matches
# REPA's best FID 1.42 (REPA: 4M iterations / 800 epochs); official
# scripts/run.sh: --proj-coeff 0.5 --attn-coeff 0.5 --encoder-depth 8
# --early-stop-point 250000, DINOv2-B (no registers), fp16 (here bf16).
#   tools/dist_train.sh configs/haste/sit_xl.py 8
#   torchrun --nproc_per_node 8 tools/sample.py configs/haste/sit_xl.py \
#       work_dirs/sit_xl/iter_2500000.pth --out work_dirs/sit_xl/fid50k \
#       --launcher pytorch --num-samples 50000
_base_ = ['../repa/_base_/sit_imagenet256.py']

stop_iter = 250000
model = dict(
    backbone=dict(arch='XL/2'),
    aligners=[
        dict(type='HASTEAligner', encoders=[{{_base_.dinov2_b}}], depth=8,
             projector_dim=2048, loss_weight=0.5,
             # SiT blocks 4-7 (0-indexed, up to the REPA tap after block 8)
             # learn DINOv2-B's last four blocks 8-11, head by head (SiT-XL's
             # first 12 of 16 heads against DINOv2-B's 12)
             attn_blocks=[4, 5, 6, 7], encoder_attn_blocks=[8, 9, 10, 11],
             attn_loss_weight=0.5, head_mode='per_head')
    ],
    # HASTE's evaluation: SDE 250 steps, CFG 1.65 for t <= 0.72
    sampler=dict(type='SDESampler', num_steps=250, cfg_scale=1.65,
                 guidance_interval=(0.0, 0.72)))

max_iters = 2500000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(
    alignment_stop=dict(type='AlignmentEarlyStopHook', stop_iter=stop_iter))
# the projector gets no gradient after the stop
model_wrapper_cfg = dict(type='MMDistributedDataParallel',
                         find_unused_parameters=True)
