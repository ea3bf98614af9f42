# Stability training (Li et al. 2019). λ=2 is rgl's default, not a value from
# the reference notes; σ=1.0.
_base_ = [
    '../_base_/models/cifar_resnet110.py',
    '../_base_/datasets/cifar10_bs256.py',
    './_base_/cifar_sgd_150e.py',
    '../_base_/default_runtime.py',
]
model = dict(train_loss=dict(type='StabilityTrainingLoss', sigma=1.0, lbd=2.0))
certify_cfg = dict(sigma=1.0)
