# NIB on the bundled digits (CPU proxy), digit 9 held out. The last
# SmallConvNet map (64 x 4 x 4) is split: 48 channels -> IB latent z
# (pooled), 16 channels -> nuisance map z_n.
#   python tools/train.py configs/nib/nib_smallconvnet_1xb64-20e_digits-holdout9.py
#   tools/dist_train.sh configs/nib/nib_smallconvnet_1xb64-20e_digits-holdout9.py 2
_base_ = [
    './_base_/digits_holdout9.py',
    '../_base_/schedules/sgd_cosine_20e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    type='NuisanceIBClassifier',
    backbone=dict(type='SmallConvNet', in_channels=1, widths=(32, 64)),
    num_classes=9,
    split=dict(type='ChannelSplit', nuisance_channels=16),
    decoder=dict(
        type='NIBConvDecoder',
        out_channels=1,
        img_size=16,
        feature_size=4,
        z_channels=16,
        width=32),
    z_dim=32,
    beta=1e-3,
    rec_weight=1.0,
    adv_weight=0.1,
    adv_scale=1.0,
    adversary_hidden=64,
    mean=[0.5],
    std=[0.5])
default_hooks = dict(logger=dict(interval=10))
