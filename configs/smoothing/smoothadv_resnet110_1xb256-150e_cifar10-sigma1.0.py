# SmoothAdv (Salman et al. 2019), PGD 10 steps, ε warm-up over 10 epochs:
# ε=1.0/m=4 (σ=0.25), ε=1.0/m=8 (σ=0.5), ε=2.0/m=2 (σ=1.0); σ=1.0.
_base_ = ['./smoothadv_resnet110_1xb256-150e_cifar10-sigma0.25.py']
model = dict(
    train_loss=dict(
        sigma=1.0,
        epsilon=2.0,
        num_noise=2))
certify_cfg = dict(sigma=1.0)
