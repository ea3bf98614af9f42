# CLEL on downsampled ImageNet 32x32 (same settings as CIFAR-10; the FID
# reference is the validation set).
#   python tools/train.py configs/clel/clel_resnet_1xb64-100k_imagenet32.py
_base_ = ['./_base_/clel_resnet_32px.py']

data_root = 'data/imagenet32'  # train_data_batch_* / val_data[.npz]
# ImageNet's constants for the EBM's input normalisation
model = dict(backbone=dict(mean=(0.485, 0.456, 0.406),
                           std=(0.229, 0.224, 0.225)))
train_dataloader = dict(
    batch_size={{_base_.batch_size}},
    num_workers=4,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='ImageNet32Dataset', data_root=data_root,
                 split='train'))
ood_in_dataset = dict(type='ImageNet32Dataset', data_root=data_root,
                      split='val')
ood_datasets = dict()
