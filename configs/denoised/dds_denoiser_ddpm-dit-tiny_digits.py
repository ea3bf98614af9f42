# Train the tiny DDPM denoiser of the digits chain with rgl (CPU, minutes):
#   python tools/train.py configs/denoised/dds_denoiser_ddpm-dit-tiny_digits.py
# then certify through it: dds_smallconvnet_digits-sigma0.5.py.
_base_ = [
    '../_base_/default_runtime.py',
    './_base_/denoisers/ddpm_dit-tiny_digits.py',
]
model = {{_base_.denoiser_model}}

train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='DigitsDataset', split='train', img_size=16))
val_dataloader = val_cfg = val_evaluator = None
test_dataloader = test_cfg = test_evaluator = None

max_iters = 1500
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999),
                   weight_decay=0.0),
    clip_grad=dict(max_norm=1.0))
param_scheduler = []
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='CheckpointHook', interval=max_iters,
                    by_epoch=False, max_keep_ckpts=1))
log_processor = dict(window_size=20, by_epoch=False)
custom_hooks = [
    dict(type='RandomStateHook'),
    # the checkpoint's state_dict holds the EMA weights (what denoises)
    dict(type='EMAHook', momentum=0.01, update_buffers=True, priority=49),
]
