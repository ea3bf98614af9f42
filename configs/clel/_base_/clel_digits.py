# Shared part of the tiny digits pair (CLEL vs. the same EBM without a
# latent guide, equal budget): the native 8x8 grey digits, a 3-stage SN ResNet EBM,
# short-run SGLD with a replay buffer, trained on CPU in a few minutes with
#   python tools/train.py configs/clel/clel_tiny_digits.py
# A GPU run is the same command on a machine with CUDA (one flag: none).
_base_ = ['../../_base_/default_runtime.py']

img_size = 8
img_shape = (1, img_size, img_size)
latent_dim = 32
# digits are not flipped; crops stay large so a digit stays a digit
augment = dict(type='StrongAugment', crop_scale=(0.6, 1.0), flip=False)

model = dict(
    type='CLEL',
    backbone=dict(type='SNPreActResNet', arch='tiny', in_channels=1),
    head=dict(type='CLELEnergyHead', head_dims=(256, 64),
              projection_dims=(256, latent_dim)),
    guide=dict(
        type='SimCLREncoder',
        backbone=dict(type='SNPreActResNet', arch='tiny', in_channels=1,
                      spectral_norm=False),
        feat_dim=64, hidden_dim=256, out_dim=latent_dim),
    # proxy-scale SGLD: the paper's a=100, s=0.001 with fewer steps
    sampler=dict(type='SGLDSampler', num_steps=20, step_size=100.0,
                 noise=0.001),
    buffer=dict(size=2000, reinit_prob=0.001),
    img_shape=img_shape, alpha=1.0, beta=0.01, temperature=0.2,
    use_neg=True, buffer_augment=augment, ebm_augment=augment,
    guide_augment=augment)

train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='DigitsDataset', split='train', img_size=img_size))
val_dataloader = val_cfg = val_evaluator = None
test_dataloader = test_cfg = test_evaluator = None
# held-out digits for the OOD AUROC of tools/clel/ood.py
ood_in_dataset = dict(type='DigitsDataset', split='test', img_size=img_size)

max_iters = 300
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
optim_wrapper = dict(
    constructor='CLELOptimWrapperConstructor',
    # the paper's Adam betas; lr 1e-3 (paper 1e-4) for the short budget
    ebm=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.0, 0.999))),
    guide=dict(optimizer=dict(type='SGD', lr=3e-2, momentum=0.9,
                              weight_decay=5e-4)))
param_scheduler = []

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=25),
    checkpoint=dict(type='CheckpointHook', interval=max_iters,
                    by_epoch=False, max_keep_ckpts=1))
log_processor = dict(window_size=10, by_epoch=False)
custom_hooks = [
    dict(type='RandomStateHook'),
    # EMA of the EBM (and guide) for sampling: half-life 20,000 samples in
    # the paper; 2,000 samples (~31 iterations of 64) at this budget.
    # Buffers (the replay buffer) are kept in sync, not averaged;
    # tools/clel/sample.py refreshes the spectral norms of the EMA weights.
    dict(type='EMAHook', momentum=0.022, update_buffers=False, priority=49),
]
randomness = dict(seed=0, diff_rank_seed=True, deterministic=False)
# out-of-distribution sets of tools/clel/ood.py (besides U[0, 1] noise)
ood_datasets = dict(
    inverted=dict(type='DigitsDataset', split='test', img_size=img_size,
                  transforms=[dict(type='torchvision/RandomInvert', p=1.0)]))
