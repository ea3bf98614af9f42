# Gaussian augmentation with a WRN-28-10 base classifier; σ=0.25.
_base_ = [
    '../_base_/models/cifar_wrn28_10.py',
    '../_base_/datasets/cifar10_bs256.py',
    './_base_/cifar_sgd_150e.py',
    '../_base_/default_runtime.py',
]
model = dict(train_loss=dict(type='GaussianAugmentationLoss', sigma=0.25))
certify_cfg = dict(sigma=0.25)
