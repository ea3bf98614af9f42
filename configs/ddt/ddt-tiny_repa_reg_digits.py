# DDT + REG on the bundled digits (CPU proxy of configs/ddt/ddt_xl_repa_reg.py),
# the budget of configs/repa/sit-tiny_repa_digits.py (500 iterations): a
# 4-block DDT (3 encoder + 1 decoder) of the same width, REPA at block 2
# (in the encoder), the MAE class token joining both sequences.
#   tools/dist_train.sh configs/ddt/ddt-tiny_repa_reg_digits.py 2
_base_ = ['../repa/sit-tiny_repa_digits.py']

model = dict(
    backbone=dict(type='DDT', num_encoder_blocks=3, class_token_dim=128),
    class_token=dict(loss_weight=0.03))
