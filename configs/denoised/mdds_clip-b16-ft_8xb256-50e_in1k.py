# The base classifier of MDDS on ImageNet: the OpenAI CLIP-B/16 image tower
# fine-tuned on ImageNet-1k at 224² as the reference's
# scripts/ft_clip/imagenet.sh: 8 GPUs × 256, lr 6e-4, 10 warm-up epochs,
# 50 epochs, layer decay 0.6, weight decay 0.05, drop path 0, label
# smoothing 0.1, EMA 0.9998. Everything else (weights file, pooling,
# normalisation, what is not reproduced) as in
# mdds_clip-b16-ft_2xb64-100e_cifar10.py.
#   bash tools/dist_train.sh configs/denoised/mdds_clip-b16-ft_8xb256-50e_in1k.py 8
_base_ = ['./mdds_clip-b16-ft_2xb64-100e_cifar10.py']
num_classes = 1000
model = dict(classifier=dict(num_classes=num_classes))
# configs/_base_/datasets/imagenet_bs256.py (a second _base_ would clash
# with the CIFAR-10 loaders)
data_root = 'data/imagenet'
train_dataloader = dict(
    _delete_=True,
    batch_size=256,  # × 8 GPUs
    num_workers=8,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='ImageFolderDataset',
        data_root=data_root,
        split='train',
        transforms=[
            dict(type='torchvision/RandomResizedCrop', size=224,
                 antialias=True),
            dict(type='torchvision/RandomHorizontalFlip'),
        ]))
val_dataloader = dict(
    _delete_=True,
    batch_size=256,
    num_workers=8,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ImageFolderDataset',
        data_root=data_root,
        split='val',
        transforms=[
            dict(type='torchvision/Resize', size=256, antialias=True),
            dict(type='torchvision/CenterCrop', size=224),
        ]))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
max_epochs = 50
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / 6e-4, by_epoch=True, begin=0,
         end=10, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=10, end=max_epochs,
         eta_min_ratio=1e-6 / 6e-4, convert_to_iter_based=True),
]
default_hooks = dict(checkpoint=dict(interval=5))
