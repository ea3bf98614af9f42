# REG on SiT-B/2 (REPA depth 4, as REG's train.sh says for B), 400K
# iterations: FID 15.2 without CFG (REG's table).
#   tools/dist_train.sh configs/reg/sit_b_reg.py 8
_base_ = ['./sit_xl_reg.py']

model = dict(
    backbone=dict(arch='B/2'),
    aligners=[
        dict(type='REPAAligner', encoders=[{{_base_.dinov2_b}}], depth=4,
             projector_dim=2048, loss_weight=0.5, align_prefix=True)
    ])
max_iters = 400000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
