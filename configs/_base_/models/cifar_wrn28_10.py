# WRN-28-10 for CIFAR (36.5M parameters).
model = dict(
    type='ImageClassifier',
    backbone=dict(type='WideResNet', depth=28, widen_factor=10,
                  drop_rate=0.0, in_channels=3),
    num_classes=10,
    mean=[0.4914, 0.4822, 0.4465],
    std=[0.2023, 0.1994, 0.2010])  # locuslab/CAT-RS datasets.py constants
