# Gaussian augmentation (Cohen et al. 2019); σ=0.25.
_base_ = [
    '../_base_/models/cifar_resnet110.py',
    '../_base_/datasets/cifar10_bs256.py',
    './_base_/cifar_sgd_150e.py',
    '../_base_/default_runtime.py',
]
model = dict(train_loss=dict(type='GaussianAugmentationLoss', sigma=0.25))
certify_cfg = dict(sigma=0.25)
