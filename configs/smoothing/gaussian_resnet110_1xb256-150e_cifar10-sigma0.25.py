# Gaussian augmentation (Cohen et al. 2019); σ=0.25.
_base_ = ['./_base_/resnet110_cifar10_150e.py']
model = dict(train_loss=dict(type='GaussianAugmentationLoss', sigma=0.25))
certify_cfg = dict(sigma=0.25)
