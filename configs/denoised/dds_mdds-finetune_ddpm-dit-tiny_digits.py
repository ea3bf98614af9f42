# MDDS diffusion fine-tuning (Jeong & Shin, NeurIPS 2023; the objective is
# formulated from the abstract, see docs/methods/mdds_ftcadis.md) of the
# tiny digits DDPM against the clean digits classifier, over the cascade's
# scales:
#   python tools/train.py configs/denoised/dds_denoiser_ddpm-dit-tiny_digits.py
#   python tools/train.py configs/denoised/dds_smallconvnet_digits-sigma0.5.py
#   python tools/train.py configs/denoised/dds_mdds-finetune_ddpm-dit-tiny_digits.py
# The fine-tuned denoiser is `denoiser.model.*` of the checkpoint (see
# dds_mdds-finetuned_smallconvnet_digits-sigma0.5.py).
_base_ = [
    '../_base_/default_runtime.py',
    './_base_/denoisers/ddpm_dit-tiny_digits.py',
]
model = dict(
    type='DenoiserFinetuner',
    denoiser={{_base_.denoiser}},
    classifier=dict(
        type='ImageClassifier',
        backbone=dict(type='SmallConvNet', in_channels=1, widths=(32, 64)),
        num_classes=10, mean=[0.5], std=[0.5]),
    classifier_checkpoint='work_dirs/dds_smallconvnet_digits-sigma0.5/'
    'epoch_20.pth',
    sigmas=(0.25, 0.5, 1.0),  # the cascade's σ
    num_noises=4,  # M
    anti_consistency_weight=1.0,  # λ_AC
    diffusion_weight=1.0)  # λ_diff

train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='DigitsDataset', split='train', img_size=16))
val_dataloader = val_cfg = val_evaluator = None
test_dataloader = test_cfg = test_evaluator = None

max_iters = 300
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.0),
    clip_grad=dict(max_norm=1.0))
param_scheduler = []
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=max_iters,
                    by_epoch=False, max_keep_ckpts=1))
log_processor = dict(window_size=20, by_epoch=False)
