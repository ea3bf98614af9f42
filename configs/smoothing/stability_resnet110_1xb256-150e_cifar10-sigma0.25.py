# Stability training (Li et al. 2019). λ=2 is rgl's default, not a value from
# the reference notes; σ=0.25.
_base_ = ['./_base_/resnet110_cifar10_150e.py']
model = dict(
    train_loss=dict(type='StabilityTrainingLoss', sigma=0.25, lbd=2.0))
certify_cfg = dict(sigma=0.25)
