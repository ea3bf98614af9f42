# Plain MAE on the digits table (MetaMAE's config less the inner step and
# the task-contrastive term).
_base_ = ['./metamae-tiny_1xb64-300it_digits-table.py']

model = dict(inner_steps=0, reg_weight=0.0)
