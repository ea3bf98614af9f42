# SmoothAdv (Salman et al. 2019), PGD 10 steps, ε warm-up over 10 epochs:
# ε=1.0/m=4 (σ=0.25), ε=1.0/m=8 (σ=0.5), ε=2.0/m=2 (σ=1.0); σ=1.0.
_base_ = [
    '../_base_/models/cifar_resnet110.py',
    '../_base_/datasets/cifar10_bs256.py',
    './_base_/cifar_sgd_150e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    train_loss=dict(
        type='SmoothAdvLoss',
        sigma=1.0,
        epsilon=2.0,
        num_steps=10,
        num_noise=2,
        # 10 warm-up epochs of 196 iterations (batch 256)
        warmup_iters=1960))
certify_cfg = dict(sigma=1.0)
