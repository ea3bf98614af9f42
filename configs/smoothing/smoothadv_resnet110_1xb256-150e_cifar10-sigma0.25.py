# SmoothAdv (Salman et al. 2019), PGD 10 steps, ε warm-up over 10 epochs:
# ε=1.0/m=4 (σ=0.25), ε=1.0/m=8 (σ=0.5), ε=2.0/m=2 (σ=1.0); σ=0.25.
_base_ = ['./_base_/resnet110_cifar10_150e.py']
model = dict(
    train_loss=dict(
        type='SmoothAdvLoss',
        sigma=0.25,
        epsilon=1.0,
        num_steps=10,
        num_noise=4,
        # 10 warm-up epochs of 196 iterations (batch 256)
        warmup_iters=1960))
certify_cfg = dict(sigma=0.25)
