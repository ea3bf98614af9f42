# MACER (Zhai et al. 2020): m=16, β=16, γ=8, λ=12 (σ=0.25) / 6 (σ=0.5) / 12
# (σ=1.0; the paper defers it); σ=0.25.
_base_ = ['./_base_/resnet110_cifar10_150e.py']
model = dict(
    train_loss=dict(
        type='MACERLoss',
        sigma=0.25,
        num_noise=16,
        beta=16.0,
        gamma=8.0,
        lbd=12.0))
certify_cfg = dict(sigma=0.25)
