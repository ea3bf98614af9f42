# Consistency regularization (Jeong & Shin 2020): m=2, η=0.5, λ=20 (σ=0.25) /
# 10 (σ=0.5, 1.0); σ=0.25.
_base_ = ['./_base_/resnet110_cifar10_150e.py']
model = dict(
    train_loss=dict(
        type='ConsistencyLoss', sigma=0.25, num_noise=2, lbd=20.0, eta=0.5))
certify_cfg = dict(sigma=0.25)
