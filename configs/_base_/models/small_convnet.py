model = dict(
    type='ImageClassifier',
    backbone=dict(type='SmallConvNet', in_channels=1, widths=(32, 64)),
    num_classes=10,
    mean=[0.5],
    std=[0.5])
