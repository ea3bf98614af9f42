# REPA + certified smoothing, composed from configs alone.
#
# Gaussian-augmentation training of a smoothed classifier (Cohen et al. 2019)
# whose hidden state on the *noisy* input x + δ is aligned, REPA-style
# (Yu et al. 2025), to the tokens of a frozen encoder on the *clean* image x:
# the representation must stay close to the clean one under noise.
#
#   python tools/train.py configs/repa_smoothing/repa-gaussian_smallconvnet_1xb64-20e_digits-sigma0.5.py
#   python tools/certify.py configs/repa_smoothing/repa-gaussian_smallconvnet_1xb64-20e_digits-sigma0.5.py \
#       work_dirs/repa-gaussian_smallconvnet_1xb64-20e_digits-sigma0.5/epoch_20.pth --out repa_gauss.tsv
_base_ = [
    '../smoothing/gaussian_smallconvnet_1xb64-20e_digits-sigma0.5.py',
    '../repa/encoders/mae_vit-tiny-p4_digits_encoder.py',
]
model = dict(aligners=[
    dict(
        type='REPAAligner',
        # SmallConvNet's first stage: an 8x8 map of 32 channels on 16x16
        # digits, the same 8x8 token grid as the encoder's.
        layer='stages.0',
        in_dim=32,
        encoders={{_base_.encoder}},
        projector_dim=256,
        loss_weight=0.5)
])
