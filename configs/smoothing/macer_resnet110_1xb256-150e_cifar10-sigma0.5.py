# MACER (Zhai et al. 2020): m=16, β=16, γ=8, λ=12 (σ=0.25) / 6 (σ=0.5) / 12
# (σ=1.0; the paper defers it); σ=0.5.
_base_ = ['./macer_resnet110_1xb256-150e_cifar10-sigma0.25.py']
model = dict(
    train_loss=dict(
        sigma=0.5,
        lbd=6.0))
certify_cfg = dict(sigma=0.5)
