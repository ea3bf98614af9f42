# MACER (Zhai et al. 2020): m=16, β=16, γ=8, λ=12 (σ=0.25) / 6 (σ=0.5) / 12
# (σ=1.0; the paper defers it); σ=1.0.
_base_ = [
    '../_base_/models/cifar_resnet110.py',
    '../_base_/datasets/cifar10_bs256.py',
    './_base_/cifar_sgd_150e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    train_loss=dict(
        type='MACERLoss',
        sigma=1.0,
        num_noise=16,
        beta=16.0,
        gamma=8.0,
        lbd=12.0))
certify_cfg = dict(sigma=1.0)
# The deferral epoch is not in our reference notes; to defer λ, e.g. by 10
# epochs, add:
#   custom_hooks = [dict(type='RandomStateHook'),
#                   dict(type='LossParamHook', schedule=dict(lbd={0: 0.0, 10: 12.0}))]
