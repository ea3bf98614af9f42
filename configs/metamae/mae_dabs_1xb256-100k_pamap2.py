# Plain MAE baseline on DABS PAMAP2: the MetaMAE config without the inner
# step and the task-contrastive term (same encoder, decoder and budget).
_base_ = ['./metamae_dabs_1xb256-100k_pamap2.py']

model = dict(inner_steps=0, reg_weight=0.0)
