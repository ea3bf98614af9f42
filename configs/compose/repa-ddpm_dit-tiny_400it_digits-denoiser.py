# Combination 1, REPA arm: the same DDPM DiT and budget as
# ddpm_dit-tiny_400it_digits-denoiser.py, plus a REPA aligner. The hidden
# state after block 1 of 3 (8 x 8 tokens of the noisy x_t) is projected to
# the clean digit's tokens of rgl's shipped MAE ViT-tiny (8 x 8 x 128).
#   OMP_NUM_THREADS=1 python tools/train.py \
#       configs/compose/repa-ddpm_dit-tiny_400it_digits-denoiser.py
_base_ = [
    './ddpm_dit-tiny_400it_digits-denoiser.py',
    '../repa/encoders/mae_vit-tiny-p4_digits_encoder.py',
]

model = dict(aligners=[
    dict(type='REPAAligner', encoders=[{{_base_.encoder}}], depth=1,
         projector_dim=256, loss_weight=0.5)
])
