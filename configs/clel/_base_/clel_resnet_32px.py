# CLEL's paper recipe at 32x32 (official configs/cifar10.yaml; ImageNet 32
# uses the same settings): SN pre-act ResNet EBM [(128,2),(128,2),(256,2),
# (256,2)], f 128-d, projection [128, 2048, 128]; a SimCLR ResNet-18 guide
# (3x3 stem, no max-pool, head [512, 2048, 128] with BN, τ = 0.2, EBM
# negatives as extra negatives); α = 1, β = 0.01; SGLD 60 steps, a = 100,
# s = 0.001, replay buffer 10,000 with restart probability 0.001 and strong
# augmentation; batch 64, 100k iterations; Adam(1e-4, β=(0, 0.999)) with a
# 2,000-iteration warm-up for the EBM, SGD(3e-2, wd 5e-4) for the guide;
# EMA half-life 20,000 samples.
_base_ = ['../../_base_/default_runtime.py']

img_shape = (3, 32, 32)
# input normalisation of the EBM (its first layer); the common CIFAR-10
# constants, not checked against the official datasets.py
mean, std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
strong = dict(type='StrongAugment')  # SimCLR's crop/flip/jitter/grey

model = dict(
    type='CLEL',
    backbone=dict(type='SNPreActResNet', arch='resnet', in_channels=3,
                  mean=mean, std=std),
    head=dict(type='CLELEnergyHead', head_dims=(2048, 128),
              projection_dims=(2048, 128)),
    guide=dict(
        type='SimCLREncoder',
        backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=18,
                      zero_init_residual=True),
        feat_dim=512, hidden_dim=2048, out_dim=128),
    sampler=dict(type='SGLDSampler', num_steps=60, step_size=100.0,
                 noise=0.001),
    buffer=dict(size=10000, reinit_prob=0.001),
    img_shape=img_shape, alpha=1.0, beta=0.01, temperature=0.2,
    use_neg=True, buffer_augment=strong, ebm_augment=strong,
    guide_augment=strong)

batch_size = 64
max_iters = 100000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
val_dataloader = val_cfg = val_evaluator = None
test_dataloader = test_cfg = test_evaluator = None

optim_wrapper = dict(
    constructor='CLELOptimWrapperConstructor',
    ebm=dict(optimizer=dict(type='Adam', lr=1e-4, betas=(0.0, 0.999))),
    guide=dict(optimizer=dict(type='SGD', lr=3e-2, momentum=0.9,
                              weight_decay=5e-4)))
param_scheduler = dict(
    ebm=[dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
              end=2000)],
    guide=[dict(type='CosineAnnealingLR', T_max=max_iters, by_epoch=False,
                begin=0, end=max_iters)])

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='CheckpointHook', interval=10000, by_epoch=False,
                    max_keep_ckpts=3))
log_processor = dict(window_size=50, by_epoch=False)
custom_hooks = [
    dict(type='RandomStateHook'),
    # half-life 20,000 samples = 312.5 iterations of 64:
    # momentum = 1 − 0.5^(1/312.5)
    dict(type='EMAHook', momentum=0.0022157, update_buffers=False,
         priority=49),
]
