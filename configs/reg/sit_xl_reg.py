# REG (Wu et al., 2025): SiT-XL/2 + REPA + one DINOv2-B class token in the
# input sequence, ImageNet 256² (REG's train.sh and eval.sh):
# - REPA: DINOv2-B's [class; patch] tokens aligned at depth 8 (the class
#   position too: align_prefix), λ = 0.5, MLP projector;
# - REG: DINOv2-B's normalised class token (768-d) joins the sequence, is
#   noised on the same linear path and denoised with the latents, w_cls 0.03;
# - global batch 256, AdamW lr 1e-4 constant, uniform t, EMA 0.9999;
# - evaluation: SDE, 250 steps, CFG 2.3 on latents and token for t <= 0.85.
# Paper: FID 1.36 at 4M iterations (800 epochs) with CFG; 3.4 at 400K
# without CFG (`--cfg-options max_iters=400000`).
#   tools/dist_train.sh configs/reg/sit_xl_reg.py 8
#   torchrun --nproc_per_node 8 tools/sample.py configs/reg/sit_xl_reg.py \
#       work_dirs/sit_xl_reg/iter_4000000.pth --out work_dirs/sit_xl_reg/fid50k \
#       --launcher pytorch --num-samples 50000
_base_ = ['../repa/_base_/sit_imagenet256.py']

model = dict(
    backbone=dict(arch='XL/2', class_token_dim=768),  # DINOv2-B's width
    class_token=dict(loss_weight=0.03),
    aligners=[
        dict(type='REPAAligner', encoders=[{{_base_.dinov2_b}}], depth=8,
             projector_dim=2048, loss_weight=0.5, align_prefix=True)
    ],
    sampler=dict(type='SDESampler', num_steps=250, cfg_scale=2.3,
                 guidance_interval=(0.0, 0.85)))

max_iters = 4000000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
