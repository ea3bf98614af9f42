# The baseline of the digits proxy: the same SmallConvNet trained with
# cross-entropy alone (rgl's ImageClassifier), digit 9 held out.
#   python tools/train.py configs/nib/ce_smallconvnet_1xb64-20e_digits-holdout9.py
_base_ = [
    './_base_/digits_holdout9.py',
    '../_base_/schedules/sgd_cosine_20e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    type='ImageClassifier',
    backbone=dict(type='SmallConvNet', in_channels=1, widths=(32, 64)),
    num_classes=9,
    mean=[0.5],
    std=[0.5])
default_hooks = dict(logger=dict(interval=10))
