# CAT-RS (Jeong, Kim, Shin, AAAI 2023): M=4, ε=1.0, 4 PGD steps, λ=0.5/1.0/2.0
# for σ=0.25/0.5/1.0; σ=1.0.
_base_ = ['./catrs_resnet110_1xb256-150e_cifar10-sigma0.25.py']
model = dict(
    train_loss=dict(
        sigma=1.0,
        lbd=2.0))
certify_cfg = dict(sigma=1.0)
