# NIB with a ViT on CIFAR-10: the class token is the IB latent's input, the
# 8 x 8 patch tokens are the nuisance map z_n (TokenSplit). A DeiT-Tiny-
# sized mmpretrain VisionTransformer with 4 x 4 patches; AdamW as usual for
# ViTs. Sizes and schedule are rgl's choices, not the paper's.
_base_ = ['./nib_resnet18_1xb128-200e_cifar10.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.VisionTransformer',
        arch='deit-tiny',
        img_size=32,
        patch_size=4,
        out_type='raw',
        drop_path_rate=0.1),
    feature_width=192,
    split=dict(_delete_=True, type='TokenSplit', num_prefix_tokens=1),
    decoder=dict(feature_size=8, z_channels=32, width=96),
    z_dim=128,
    adversary_hidden=192)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=1.0))
