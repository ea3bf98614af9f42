# REG + iREPA + HASTE with early stop, on the bundled digits (CPU proxy of
# configs/haste/sit_xl_reg-irepa-haste.py):
#   tools/dist_train.sh configs/haste/sit-tiny_reg-irepa-haste_digits.py 2
# - REG: the encoder's class token joins the SiT sequence and is denoised
#   with the image (w_cls = 0.03);
# - iREPA: 3x3 conv projector, targets spatially normalised with γ = 0.6;
# - HASTE: attention of SiT blocks 0-1 distilled from the encoder's last two
#   blocks (μ = 0.5); feature and attention terms stop after half the
#   budget (REG's class-token loss goes on: it is part of the model).
# λ = 0.5, the feature weight of REG and HASTE.
_base_ = ['../repa/_base_/sit_tiny_digits.py']

stop_iter = 250
model = dict(
    backbone=dict(class_token_dim=128),  # the MAE encoder's width
    class_token=dict(loss_weight=0.03),
    aligners=[
        dict(type='HASTEAligner', encoders=[{{_base_.digits_encoder}}],
             depth=2, projector='conv', projector_kernel_size=3,
             spatial_norm=dict(gamma=0.6), loss_weight=0.5,
             attn_blocks=[0, 1], encoder_attn_blocks=[2, 3],
             attn_loss_weight=0.5, head_mode='per_head')
    ])
default_hooks = dict(
    alignment_stop=dict(type='AlignmentEarlyStopHook', stop_iter=stop_iter))
# the projector gets no gradient after the stop
model_wrapper_cfg = dict(type='MMDistributedDataParallel',
                         find_unused_parameters=True)
