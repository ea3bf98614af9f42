# ImageNet in its folder layout: data/imagenet/{train,val}/<wnid>/*.JPEG.
data_root = 'data/imagenet'
train_dataloader = dict(
    batch_size=256,
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
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
