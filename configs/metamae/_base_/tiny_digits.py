# Shared part of the CPU quickstart on the bundled digits: a 'tiny'
# MetaMAE (encoder 64-d x 4 layers x 4 heads, decoder 32-d x 2 layers,
# mlp ratio 2, dropout 0.1), 300 iterations of batch 64, AdamW 1e-3.
# A leaf config sets the modality (image or table) and `probe`.
_base_ = ['./metamae_dabs.py']

model = dict(arch=dict(embed_dim=64, depth=4, num_heads=4,
                       decoder_embed_dim=32, decoder_depth=2,
                       decoder_num_heads=4),
             mask_ratio=0.5, inner_lr=0.5, s_ratio=0.1,
             reg_weight=0.1)

max_iters = 300
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
# the paper's lr (1e-4) is for 100K iterations; a short run needs more
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3,
                                    weight_decay=1e-4))
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    drop_last=True,
    sampler=dict(type='InfiniteSampler', shuffle=True))
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=max_iters,
                    by_epoch=False, max_keep_ckpts=1))
probe = dict(batch_size=64)
sync_bn = None  # CPU processes (tools/dist_train.sh on gloo)
