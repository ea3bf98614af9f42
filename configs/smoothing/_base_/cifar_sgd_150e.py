# Training schedule of the CIFAR-10 smoothing baselines in CAT-RS's
# experiments: SGD lr 0.1 (momentum 0.9, weight decay 1e-4), batch 256,
# 150 epochs, lr x0.1 every 50 epochs.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = dict(type='StepLR', by_epoch=True, step_size=50, gamma=0.1)
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=150, val_interval=10)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256, enable=False)
# Cohen et al.'s CIFAR-10 certification: every 20th test image (500).
certify_cfg = dict(n0=100, n=100_000, alpha=0.001, batch=1000, skip=20)
