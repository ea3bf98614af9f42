# The same proxy, optimising the raw CLIP reward instead of TextNorm: its
# log shows whether the raw reward rises while the calibrated one falls.
_base_ = ['./finetune_pg_tiny-proxy.py']
train = dict(objective='raw')
