# CAT-RS (Jeong, Kim, Shin, AAAI 2023): M=4, ε=1.0, 4 PGD steps, λ=0.5/1.0/2.0
# for σ=0.25/0.5/1.0; σ=0.5.
_base_ = [
    '../_base_/models/cifar_resnet110.py',
    '../_base_/datasets/cifar10_bs256.py',
    './_base_/cifar_sgd_150e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    train_loss=dict(
        type='CATRSLoss',
        sigma=0.5,
        num_noise=4,
        lbd=1.0,
        epsilon=1.0,
        num_steps=4))
certify_cfg = dict(sigma=0.5)
