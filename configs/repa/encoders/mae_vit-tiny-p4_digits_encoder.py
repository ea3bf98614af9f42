# rgl's shipped digits encoder as a REPA target (a frozen MAEEncoder).
# Inherit it and use `encoder` in an aligner, e.g.
#   _base_ = ['./encoders/mae_vit-tiny-p4_digits_encoder.py']
#   model = dict(aligner=dict(encoders=[{{_base_.encoder}}]))
# grid_size sets the token grid: 8 -> 8 x 8 = 64 tokens of 128-d from a 32²
# input; grid_size=16 feeds 64² (bicubic upsampling, position embedding
# resampled) for a backbone with a 16 x 16 token grid.
encoder = dict(
    type='MAEEncoder',
    arch=dict(embed_dims=128, num_layers=4, num_heads=4,
              feedforward_channels=512),
    patch_size=4,
    grid_size=8,
    # trained on [0, 1] pixels (rgl's ImageDataPreprocessor): no mean/std
    mean=None,
    std=None,
    checkpoint='assets/encoders/mae_vit-tiny-p4_digits.pth')
