# iREPA on the bundled digits (CPU proxy of configs/irepa/sit_xl.py):
#   tools/dist_train.sh configs/irepa/sit-tiny_irepa_digits.py 2
# REPA's digits recipe (configs/repa/sit-tiny_repa_digits.py, same encoder,
# tap after block 2 of 4, same budget) with iREPA's two changes: a 3x3 conv
# projector on the 8x8 token grid instead of the MLP, and spatially
# normalised targets (y - 0.6 mean_T y) / std_T y; λ = 1.0 as iREPA's SiT
# recipe (ldm/configs/irepa.yaml).
_base_ = ['../repa/_base_/sit_tiny_digits.py']

model = dict(
    aligners=[
        dict(type='REPAAligner', encoders=[{{_base_.digits_encoder}}],
             depth=2, projector='conv', projector_kernel_size=3,
             spatial_norm=dict(gamma=0.6), loss_weight=1.0)
    ])
