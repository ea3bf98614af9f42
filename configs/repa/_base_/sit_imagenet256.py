# ImageNet 256x256 class-conditional flow matching in SD-VAE latent space,
# as REPA trains it (global batch 256, AdamW lr 1e-4 constant, no weight
# decay, grad clip 1.0, EMA 0.9999 every step, 400K iterations).
#
# Data: latents pre-extracted once (REPA's preprocessing, one centre crop):
#   python tools/extract_latents.py data/imagenet data/imagenet256_sd-vae \
#       --split train --resolution 256 --save-images \
#       --vae checkpoints/sd-vae-ft-mse
_base_ = ['../../_base_/default_runtime.py']

latent_size = 32  # 256 / 8
vae = dict(type='AutoencoderKL', pretrained='checkpoints/sd-vae-ft-ema')
# REPA's target: DINOv2-B/14 at 224² -> 16 x 16 patch tokens, the SiT/2 grid
dinov2_b = dict(type='DINOv2Encoder', arch='vit_b', grid_size=16,
                checkpoint='checkpoints/dinov2_vitb14_pretrain.pth')

model = dict(
    type='FlowMatching',
    backbone=dict(type='SiT', arch='XL/2', input_size=latent_size,
                  in_channels=4, num_classes=1000, qk_norm=False),
    path='linear', weighting='uniform', prediction='v', label_dropout=0.1,
    aligners=None,
    # decoding samples only: the latents are pre-extracted
    vae=vae,
    # REPA's FID-50K protocol: SDE, 250 steps, CFG 1.8 for t <= 0.7
    sampler=dict(type='SDESampler', num_steps=250, cfg_scale=1.8,
                 guidance_interval=(0.0, 0.7)))

train_dataloader = dict(
    batch_size=32,  # per GPU: 8 GPUs = REPA's global batch 256
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='LatentDataset', data_root='data/imagenet256_sd-vae',
                 with_images=True))
val_dataloader = val_cfg = val_evaluator = None
test_dataloader = test_cfg = test_evaluator = None

max_iters = 400000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
# bf16 autocast (no loss scaling; REPA's fp16 runs hit NaNs, issue #46)
optim_wrapper = dict(
    type='AutocastOptimWrapper', dtype='bfloat16',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), eps=1e-8,
                   weight_decay=0.0),
    clip_grad=dict(max_norm=1.0))
param_scheduler = []
auto_scale_lr = dict(enable=False, base_batch_size=256)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='CheckpointHook', interval=50000, by_epoch=False,
                    max_keep_ckpts=3))
log_processor = dict(window_size=100, by_epoch=False)
custom_hooks = [
    dict(type='RandomStateHook'),
    # mmengine's momentum = 1 − decay: REPA's decay 0.9999, every step
    dict(type='EMAHook', momentum=1e-4, update_buffers=True, priority=49),
    # REPA's wandb grids: Euler ODE, 50 steps, CFG 4.0
    dict(type='GenerationEvalHook', interval=10000,
         grid_labels=[207, 360, 387, 974, 88, 979, 417, 279], grid_rows=2,
         sampler=dict(type='ODESampler', num_steps=50, cfg_scale=4.0),
         batch_size=16),
]
env_cfg = dict(cudnn_benchmark=True)
randomness = dict(seed=0, diff_rank_seed=True)
