# ImageNet schedule of Cohen et al. / CAT-RS: SGD lr 0.1, 90 epochs, lr x0.1
# every 30 epochs, batch 256.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = dict(type='StepLR', by_epoch=True, step_size=30, gamma=0.1)
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=90, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256, enable=False)
# Cohen et al.'s ImageNet certification: every 100th val image (500).
certify_cfg = dict(n0=100, n=100_000, alpha=0.001, batch=400, skip=100)
