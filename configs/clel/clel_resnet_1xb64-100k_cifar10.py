# CLEL on CIFAR-10 (paper: FID 8.61 with the large EBM; see README.md).
#   python tools/train.py configs/clel/clel_resnet_1xb64-100k_cifar10.py
_base_ = ['./_base_/clel_resnet_32px.py']

data_root = 'data/cifar10'  # cifar-10-batches-py (rgl.datasets.cifar)
train_dataloader = dict(
    batch_size={{_base_.batch_size}},
    num_workers=4,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='CIFAR10Dataset', data_root=data_root, split='train'))
# tools/clel/ood.py: held-out CIFAR-10 test images vs. other sets
ood_in_dataset = dict(type='CIFAR10Dataset', data_root=data_root,
                      split='test')
ood_datasets = dict()
