# DDT on the bundled digits, the budget of
# configs/repa/sit-tiny_repa_digits.py (500 iterations): 3 encoder + 1
# decoder blocks, REPA at block 2 (in the encoder).
#   tools/dist_train.sh configs/ddt/ddt-tiny_repa_digits.py 2
_base_ = ['../repa/sit-tiny_repa_digits.py']

model = dict(backbone=dict(type='DDT', num_encoder_blocks=3))
