# DDT-XL/2 (Wang et al., 2025), 22 encoder + 6 decoder blocks, with REPA in
# the encoder (DDT's configs/repa_improved_ddt_xlen22de6_256.yaml):
# - blocks: RMSNorm, SwiGLU, 2-D RoPE, QK-norm, no qkv/FFN biases;
# - REPA: DINOv2-B at block 8 (in the encoder), λ = 0.5, projector
#   1152 -> 1152 -> 1152 -> 768;
# - lognormal t, AdamW lr 1e-4 betas (0.9, 0.95), EMA 0.9999, bf16, 4M
#   steps at most;
# - evaluation: Euler ODE 250 steps, CFG 2.0 on t in [0.3, 1] of DDT's
#   data-at-one time, i.e. t <= 0.7 here (t = 1 is noise in rgl).
# Paper/README: FID 1.26 (released checkpoint, IS 310.6); 1.31 at ~256 ep.
#   tools/dist_train.sh configs/ddt/ddt_xl_repa.py 8
_base_ = ['../repa/_base_/sit_imagenet256.py']

model = dict(
    backbone=dict(_delete_=True, type='DDT', arch='XL/2',
                  num_encoder_blocks=22, input_size=32, in_channels=4,
                  num_classes=1000),
    weighting='lognormal',
    aligners=[
        dict(type='REPAAligner', encoders=[{{_base_.dinov2_b}}], depth=8,
             projector_dim=1152, loss_weight=0.5)
    ],
    sampler=dict(type='ODESampler', num_steps=250, method='euler',
                 cfg_scale=2.0, guidance_interval=(0.0, 0.7)))

optim_wrapper = dict(optimizer=dict(betas=(0.9, 0.95)))
max_iters = 4000000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
