# CAT-RS (Jeong, Kim, Shin, AAAI 2023): M=4, ε=1.0, 4 PGD steps, λ=0.5/1.0/2.0
# for σ=0.25/0.5/1.0; σ=0.25.
_base_ = ['./_base_/resnet110_cifar10_150e.py']
model = dict(
    train_loss=dict(
        type='CATRSLoss',
        sigma=0.25,
        num_noise=4,
        lbd=0.5,
        epsilon=1.0,
        num_steps=4))
certify_cfg = dict(sigma=0.25)
