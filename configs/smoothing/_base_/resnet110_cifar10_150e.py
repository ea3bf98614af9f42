# The CIFAR-10 recipe every certified-training config shares (Cohen et al.
# 2019 and the papers after it): ResNet-110, batch 256, SGD 150 epochs.
_base_ = [
    '../../_base_/models/cifar_resnet110.py',
    '../../_base_/datasets/cifar10_bs256.py',
    './cifar_sgd_150e.py',
    '../../_base_/default_runtime.py',
]
