# A composition no single paper trained: REG's class token + iREPA's conv
# projector and spatially normalised targets + HASTE's attention
# distillation with early stop, on SiT-XL/2 (ImageNet 256², batch 256).
# Every part keeps its paper's setting: REG w_cls = 0.03 and its sampler
# (CFG 2.3 for t <= 0.85); iREPA 3x3 conv, γ = 0.6; HASTE μ = 0.5 on blocks
# 4-7 <- DINOv2-B 8-11, both alignment terms off at 250K (REG's class-token
# loss goes on: it trains the model's input, not an alignment).
# λ = 0.5 (REG's and HASTE's feature weight; iREPA's SiT recipe uses 1.0).
# Not trained here: no FID to report.
#   tools/dist_train.sh configs/haste/sit_xl_reg-irepa-haste.py 8
_base_ = ['../repa/_base_/sit_imagenet256.py']

stop_iter = 250000
model = dict(
    backbone=dict(arch='XL/2', class_token_dim=768),  # DINOv2-B's width
    class_token=dict(loss_weight=0.03),
    aligners=[
        dict(type='HASTEAligner', encoders=[{{_base_.dinov2_b}}], depth=8,
             projector='conv', projector_kernel_size=3,
             spatial_norm=dict(gamma=0.6), loss_weight=0.5,
             attn_blocks=[4, 5, 6, 7], encoder_attn_blocks=[8, 9, 10, 11],
             attn_loss_weight=0.5, head_mode='per_head')
    ],
    sampler=dict(type='SDESampler', num_steps=250, cfg_scale=2.3,
                 guidance_interval=(0.0, 0.85)))

max_iters = 4000000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(
    alignment_stop=dict(type='AlignmentEarlyStopHook', stop_iter=stop_iter))
model_wrapper_cfg = dict(type='MMDistributedDataParallel',
                         find_unused_parameters=True)
