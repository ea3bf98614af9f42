# HASTE on the bundled digits (CPU proxy of configs/haste/sit_xl.py):
#   tools/dist_train.sh configs/haste/sit-tiny_haste_digits.py 2
# REPA's digits recipe (configs/repa/sit-tiny_repa_digits.py: feature
# alignment after block 2 of 4, λ = 0.5) plus attention distillation, μ = 0.5:
# SiT blocks 0-1 (the blocks up to the REPA tap, as 4-7 before depth 8 on
# SiT-XL/2) learn the attention of the MAE encoder's last two blocks 2-3 (as
# DINOv2-B's last four, 8-11), head by head (4 heads each). Both terms stop
# after half the budget (HASTE: 250K of 4M iterations on SiT-XL/2).
_base_ = ['../repa/_base_/sit_tiny_digits.py']

stop_iter = 250
model = dict(
    aligners=[
        dict(type='HASTEAligner', encoders=[{{_base_.digits_encoder}}],
             depth=2, projector_dim=256, loss_weight=0.5,
             attn_blocks=[0, 1], encoder_attn_blocks=[2, 3],
             attn_loss_weight=0.5, head_mode='per_head')
    ])
# a default_hooks entry (merged by key) keeps the base's custom_hooks list
default_hooks = dict(
    alignment_stop=dict(type='AlignmentEarlyStopHook', stop_iter=stop_iter))
# the projectors get no gradient after the stop
model_wrapper_cfg = dict(type='MMDistributedDataParallel',
                         find_unused_parameters=True)
