# ResNet-50 from mmpretrain, as the base classifier of Cohen et al. (2019)
# and CAT-RS on ImageNet. ImageNet normalisation is the model's first layer.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='mmpretrain.ResNet', depth=50, out_indices=(3, )),
    in_channels=2048,
    num_classes=1000,
    mean=[0.485, 0.456, 0.406],
    std=[0.229, 0.224, 0.225])
