# CIFAR-10 from its python batches (no download): put cifar-10-batches-py
# under data/cifar10 or set data_root. Crop-and-flip augmentation as in
# locuslab/smoothing; images stay in [0, 1]. Normalisation is the model's
# first layer (after the smoothing noise): the smoothing configs use the
# references' constants, see configs/smoothing/_base_/resnet110_cifar10_150e.py.
data_root = 'data/cifar10'
train_dataloader = dict(
    batch_size=256,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='CIFAR10Dataset',
        data_root=data_root,
        split='train',
        transforms=[
            dict(type='torchvision/RandomCrop', size=32, padding=4),
            dict(type='torchvision/RandomHorizontalFlip'),
        ]))
val_dataloader = dict(
    batch_size=500,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CIFAR10Dataset', data_root=data_root, split='test'))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
