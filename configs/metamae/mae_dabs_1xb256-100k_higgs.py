# Plain MAE baseline on DABS HIGGS (MetaMAE's config less the inner step
# and the task-contrastive term).
_base_ = ['./metamae_dabs_1xb256-100k_higgs.py']

model = dict(inner_steps=0, reg_weight=0.0)
