# Gaussian augmentation (Cohen et al. 2019), mmpretrain ResNet-50 on ImageNet;
# σ=0.5. 8 GPUs x 32 images = batch 256.
_base_ = [
    '../_base_/models/imagenet_resnet50_mmpretrain.py',
    '../_base_/datasets/imagenet_bs256.py',
    './_base_/imagenet_sgd_90e.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(batch_size=32)
model = dict(train_loss=dict(type='GaussianAugmentationLoss', sigma=0.5))
certify_cfg = dict(sigma=0.5)
