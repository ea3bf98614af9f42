# The tiny representation encoder that rgl ships for REPA on the bundled
# digits: an MAE (He et al., 2022) ViT-tiny (4 layers, 128 wide, patch 4) on
# 32x32 digits, built from mmpretrain's MAE parts and trained by rgl on CPU.
#
# Regenerate assets/encoders/mae_vit-tiny-p4_digits.pth (about 3 MB):
#   python tools/train.py \
#       configs/repa/encoders/mae_vit-tiny-p4_1xb64-100e_digits.py \
#       --work-dir work_dirs/mae_digits
#   python tools/export_state_dict.py work_dirs/mae_digits/epoch_100.pth \
#       assets/encoders/mae_vit-tiny-p4_digits.pth --prefix backbone.
# Use it as a REPA target:
#   configs/repa/encoders/mae_vit-tiny-p4_digits_encoder.py
# (Re-running gives an equivalent encoder, not bitwise the same file: CPU
# thread scheduling changes float sums.)
_base_ = ['../../_base_/default_runtime.py']

img_size = 32
patch_size = 4
# shared with the encoder entry (mae_vit-tiny-p4_digits_encoder.py)
arch = dict(embed_dims=128, num_layers=4, num_heads=4,
            feedforward_channels=512)

model = dict(
    type='mmpretrain.MAE',
    data_preprocessor=dict(type='ImageDataPreprocessor'),
    backbone=dict(type='mmpretrain.MAEViT', arch=arch, img_size=img_size,
                  patch_size=patch_size, mask_ratio=0.75),
    neck=dict(type='mmpretrain.MAEPretrainDecoder',
              num_patches=(img_size // patch_size)**2, patch_size=patch_size,
              in_chans=3, embed_dim=128, decoder_embed_dim=64,
              decoder_depth=2, decoder_num_heads=4, mlp_ratio=4),
    # per-patch normalised pixel targets, as in the MAE paper
    head=dict(type='mmpretrain.MAEPretrainHead', norm_pix=True,
              patch_size=patch_size, in_channels=3,
              loss=dict(type='mmpretrain.PixelReconstructionLoss',
                        criterion='L2')),
    init_cfg=None)

train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='DigitsDataset', split='train', img_size=img_size, channels=3,
        transforms=[
            dict(type='torchvision/RandomResizedCrop', size=img_size,
                 scale=(0.6, 1.0), ratio=(0.85, 1.15), antialias=True)
        ]))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1.5e-3, betas=(0.9, 0.95),
                   weight_decay=0.05),
    paramwise_cfg=dict(
        custom_keys=dict(
            ln=dict(decay_mult=0.0), bias=dict(decay_mult=0.0),
            pos_embed=dict(decay_mult=0.0), mask_token=dict(decay_mult=0.0),
            cls_token=dict(decay_mult=0.0))))
max_epochs = 100
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 10, by_epoch=True,
         begin=10, end=max_epochs, convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(type='CheckpointHook', interval=25, max_keep_ckpts=1))
randomness = dict(seed=0, diff_rank_seed=True, deterministic=False)
