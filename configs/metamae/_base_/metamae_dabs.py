# MetaMAE's DABS recipe (official pretrain.py): the 'dabs' transformer
# (encoder 256-d x 12 layers x 8 heads, decoder 128-d x 4 layers x 4 heads,
# mlp ratio 2, dropout 0.1), AdamW lr 1e-4 wd 1e-4 at a constant rate, no
# warm-up or clipping, 100K iterations, a checkpoint every 10K.
# A dataset config sets model.tokenizer, the loaders and `probe`.
_base_ = ['../../_base_/default_runtime.py']

model = dict(
    type='MetaMAE',
    # tokenizer: set by the dataset config
    # the 'dabs' sizes, spelled out so that --cfg-options can change one
    arch=dict(embed_dim=256, depth=12, num_heads=8, decoder_embed_dim=128,
              decoder_depth=4, decoder_num_heads=4, mlp_ratio=2.0,
              dropout=0.1),
    mask_ratio=0.5,      # pretrain.py defaults; PAMAP2 overrides them
    inner_steps=1,       # one inner step on the latent Z_x
    inner_lr=0.5,        # alpha
    first_order=False,   # second order, as the paper
    s_ratio=0.1,         # s
    reg_weight=0.1,      # lambda
    temperature=0.5,     # tau of NT-Xent
    proj_dim=128,
    norm_target=False)

max_iters = 100000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
val_dataloader = val_cfg = val_evaluator = None
test_dataloader = test_cfg = test_evaluator = None
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=1e-4))
param_scheduler = []
# the projector's BatchNorm is synchronised across GPUs, as the official
# idist.auto_model(sync_bn=True) (mmengine applies it to distributed runs)
sync_bn = 'torch'

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=10000, by_epoch=False,
                    max_keep_ckpts=3))
log_processor = dict(window_size=10, by_epoch=False)

# Linear evaluation (tools/metamae/linear_probe.py): a linear layer on the
# frozen, globally average-pooled tokens, Adam lr 1e-4 wd 1e-4, 100 epochs.
probe = dict(epochs=100, lr=1e-4, weight_decay=1e-4)
