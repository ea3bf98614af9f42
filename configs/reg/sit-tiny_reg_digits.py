# REG on the bundled digits (CPU proxy of configs/reg/sit_xl_reg.py), the
# same budget as configs/repa/sit-tiny_repa_digits.py (500 iterations):
# the shipped MAE encoder's class token (128-d) joins the 4-block SiT's
# sequence, w_cls = 0.03; REPA as in the REPA digits config.
#   tools/dist_train.sh configs/reg/sit-tiny_reg_digits.py 2
_base_ = ['../repa/sit-tiny_repa_digits.py']

model = dict(
    backbone=dict(class_token_dim=128),  # the MAE encoder's width
    class_token=dict(loss_weight=0.03))
