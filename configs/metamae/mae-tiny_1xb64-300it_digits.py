# Plain MAE on the digits images: the MetaMAE quickstart without the inner
# step and the task-contrastive term (same model, data and budget).
_base_ = ['./metamae-tiny_1xb64-300it_digits.py']

model = dict(inner_steps=0, reg_weight=0.0)
