# CAT-RS on ImageNet (ResNet-50): M=2, ε=1.0, 1 PGD step, λ=2.0; σ=1.0.
# The reference takes the confidence from the smoothed predictions of a
# Gaussian σ=0.25 model (`--confidence_mask`); here a `teacher` smoothed
# classifier estimates them on the fly from `teacher_num_samples` draws:
# point `teacher.checkpoint` at a trained
# gaussian_resnet50_8xb32-90e_imagenet-sigma0.25 checkpoint. As in the
# reference's ImageNet run (`--lr_drop 85 --warmup 80`, our reading of its
# README): an extra lr drop at epoch 85 and ε x2 from epoch 80 on.
_base_ = [
    '../_base_/models/imagenet_resnet50_mmpretrain.py',
    '../_base_/datasets/imagenet_bs256.py',
    './_base_/imagenet_sgd_90e.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(batch_size=32)
model = dict(
    train_loss=dict(
        type='CATRSLoss',
        sigma=1.0,
        num_noise=2,
        lbd=2.0,
        epsilon=1.0,
        num_steps=1,
        teacher=dict(
            type='SmoothedClassifier',
            classifier={{_base_.model}},
            sigma=0.25,
            checkpoint='checkpoints/gaussian_resnet50_imagenet_sigma0.25.pth'),
        teacher_num_samples=16))
certify_cfg = dict(sigma=1.0)
param_scheduler = dict(
    _delete_=True, type='MultiStepLR', by_epoch=True,
    milestones=[30, 60, 85], gamma=0.1)
custom_hooks = [
    dict(type='RandomStateHook'),
    dict(type='LossParamHook', schedule=dict(epsilon={0: 1.0, 80: 2.0})),
]
