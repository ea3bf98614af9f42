# Stability training (Li et al. 2019). λ=2 is rgl's default, not a value from
# the reference notes; σ=1.0.
_base_ = ['./stability_resnet110_1xb256-150e_cifar10-sigma0.25.py']
model = dict(
    train_loss=dict(
        sigma=1.0))
certify_cfg = dict(sigma=1.0)
