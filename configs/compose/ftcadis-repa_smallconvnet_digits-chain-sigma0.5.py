# Combination 5: FT-CADIS's fine-tuning objective (selective CE + masked
# adversarial KL over denoised copies) on a REPA-aligned classifier. The
# FT-CADIS recipe of the digits chain
# (configs/denoised/ftcadis_smallconvnet_digits-chain-sigma0.5.py: the clean
# SmallConvNet, the tiny DDPM denoiser, 5 epochs) plus the REPA aligner of
# configs/repa_smoothing/: stage 0 of the classifier (8 x 8 x 32) on the
# objective's last forward pass, the M adversarial denoised copies
# x + η_i*, is projected to the clean digit's MAE-tiny tokens.
#   python tools/train.py configs/compose/ftcadis-repa_smallconvnet_digits-chain-sigma0.5.py \
#       --work-dir work_dirs/compose/ftcadis-repa \
#       --non-strict   # load_from (the clean classifier) has no projector
#   python tools/certify.py configs/compose/ftcadis-repa_smallconvnet_digits-chain-sigma0.5.py \
#       work_dirs/compose/ftcadis-repa/epoch_5.pth \
#       --skip 6 --max 300 --out work_dirs/compose/ftcadis-repa_sigma0.5.tsv
_base_ = [
    '../denoised/ftcadis_smallconvnet_digits-chain-sigma0.5.py',
    '../repa/encoders/mae_vit-tiny-p4_digits_encoder.py',
]
model = dict(aligners=[
    dict(type='REPAAligner', layer='stages.0', in_dim=32,
         encoders={{_base_.encoder}}, projector_dim=256, loss_weight=0.5)
])
