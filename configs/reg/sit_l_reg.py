# REG on SiT-L/2 (depth 8), 400K iterations: FID 4.6 without CFG (REG's
# table).   tools/dist_train.sh configs/reg/sit_l_reg.py 8
_base_ = ['./sit_xl_reg.py']

model = dict(backbone=dict(arch='L/2'))
max_iters = 400000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
