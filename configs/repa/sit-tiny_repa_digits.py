# REPA on the bundled digits (CPU quickstart):
#   tools/dist_train.sh configs/repa/sit-tiny_repa_digits.py 2
# Same budget as sit-tiny_baseline_digits.py; REPA aligns block 2 of 4 (a
# shallow block, as 4 of 12 for SiT-B and 8 of 28 for SiT-XL) to the shipped MAE encoder.
_base_ = ['./_base_/sit_tiny_digits.py']

model = dict(
    aligners=[
        dict(type='REPAAligner', encoders=[{{_base_.digits_encoder}}],
             depth=2, projector_dim=256, loss_weight=0.5)
    ])
