# cifar_resnet110 of Cohen et al. (2019) / CAT-RS: 54 basic blocks, 1.73M
# parameters; CIFAR-10 normalisation inside the model (noise is added in
# [0, 1] pixel space, before it).
model = dict(
    type='ImageClassifier',
    backbone=dict(type='CifarResNet', depth=110, in_channels=3),
    num_classes=10,
    mean=[0.4914, 0.4822, 0.4465],
    std=[0.2023, 0.1994, 0.2010])  # locuslab/CAT-RS datasets.py constants
