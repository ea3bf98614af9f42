# Gaussian augmentation with a WRN-28-10 base classifier; σ=0.25.
_base_ = [
    '../_base_/models/cifar_wrn28_10.py',
    '../_base_/datasets/cifar10_bs256.py',
    './_base_/cifar_sgd_150e.py',
    '../_base_/default_runtime.py',
]
# Cohen et al.'s CIFAR-10 normalisation (locuslab/smoothing), as in every
# smoothing CIFAR-10 config (see _base_/resnet110_cifar10_150e.py).
model = dict(
    mean=[0.4914, 0.4822, 0.4465],
    std=[0.2023, 0.1994, 0.2010],
    train_loss=dict(type='GaussianAugmentationLoss', sigma=0.25))
certify_cfg = dict(sigma=0.25)
