# LightningDiT blocks (SwiGLU, 2-D RoPE, RMSNorm) in the digits REPA recipe,
# the budget of configs/repa/sit-tiny_repa_digits.py (500 iterations).
#   tools/dist_train.sh configs/lightningdit/lightningdit-tiny_repa_digits.py 2
_base_ = ['../repa/sit-tiny_repa_digits.py']

model = dict(backbone=dict(type='LightningDiT', swiglu=True, rope=True,
                           norm='rmsnorm', qk_norm=False))
