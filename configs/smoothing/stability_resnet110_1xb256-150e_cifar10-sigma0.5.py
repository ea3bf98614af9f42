# Stability training (Li et al. 2019). λ=2 is rgl's default, not a value from
# the reference notes; σ=0.5.
_base_ = [
    '../_base_/models/cifar_resnet110.py',
    '../_base_/datasets/cifar10_bs256.py',
    './_base_/cifar_sgd_150e.py',
    '../_base_/default_runtime.py',
]
model = dict(train_loss=dict(type='StabilityTrainingLoss', sigma=0.5, lbd=2.0))
certify_cfg = dict(sigma=0.5)
