# Consistency regularization (Jeong & Shin 2020): m=2, η=0.5, λ=20 (σ=0.25) /
# 10 (σ=0.5, 1.0); σ=1.0.
_base_ = ['./consistency_resnet110_1xb256-150e_cifar10-sigma0.25.py']
model = dict(
    train_loss=dict(
        sigma=1.0,
        lbd=10.0))
certify_cfg = dict(sigma=1.0)
