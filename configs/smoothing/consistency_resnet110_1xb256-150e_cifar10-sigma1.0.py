# Consistency regularization (Jeong & Shin 2020): m=2, η=0.5, λ=20 (σ=0.25) /
# 10 (σ=0.5, 1.0); σ=1.0.
_base_ = [
    '../_base_/models/cifar_resnet110.py',
    '../_base_/datasets/cifar10_bs256.py',
    './_base_/cifar_sgd_150e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    train_loss=dict(
        type='ConsistencyLoss', sigma=1.0, num_noise=2, lbd=10.0, eta=0.5))
certify_cfg = dict(sigma=1.0)
