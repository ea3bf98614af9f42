# The CIFAR-10 recipe every certified-training config shares (Cohen et al.
# 2019 and the papers after it): ResNet-110, batch 256, SGD 150 epochs.
_base_ = [
    '../../_base_/models/cifar_resnet110.py',
    '../../_base_/datasets/cifar10_bs256.py',
    './cifar_sgd_150e.py',
    '../../_base_/default_runtime.py',
]
# The reference's CIFAR-10 normalisation: `_CIFAR10_MEAN/_CIFAR10_STDDEV`
# of locuslab/smoothing, Hadisalman/smoothing-adversarial and
# alinlab/smoothing-catrs (which retrains every baseline here), not the
# dataset's std (0.2471, 0.2435, 0.2616): their released checkpoints give
# their logits only with these constants.
model = dict(
    mean=[0.4914, 0.4822, 0.4465],
    std=[0.2023, 0.1994, 0.2010])
