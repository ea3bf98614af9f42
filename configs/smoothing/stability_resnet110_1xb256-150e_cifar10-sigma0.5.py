# Stability training (Li et al. 2019). λ=2 is rgl's default, not a value from
# the reference notes; σ=0.5.
_base_ = ['./stability_resnet110_1xb256-150e_cifar10-sigma0.25.py']
model = dict(
    train_loss=dict(
        sigma=0.5))
certify_cfg = dict(sigma=0.5)
