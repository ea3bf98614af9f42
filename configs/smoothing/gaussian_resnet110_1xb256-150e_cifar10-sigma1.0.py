# Gaussian augmentation (Cohen et al. 2019); σ=1.0.
_base_ = ['./gaussian_resnet110_1xb256-150e_cifar10-sigma0.25.py']
model = dict(
    train_loss=dict(
        sigma=1.0))
certify_cfg = dict(sigma=1.0)
