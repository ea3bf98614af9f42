# The cross-entropy baseline of nib_resnet18_1xb128-200e_cifar10.py: the
# same ResNet-18 and schedule, rgl's ImageClassifier.
_base_ = ['./nib_resnet18_1xb128-200e_cifar10.py']
model = dict(
    _delete_=True,
    type='ImageClassifier',
    backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=18),
    in_channels=512,
    num_classes=10,
    mean=[0.4914, 0.4822, 0.4465],
    std=[0.2470, 0.2435, 0.2616])
