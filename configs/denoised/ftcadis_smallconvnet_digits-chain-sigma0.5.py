# The FT-CADIS step of the digits CPU chain (configs/denoised/README.md):
# fine-tune the clean SmallConvNet of dds_smallconvnet_digits-sigma0.5.py on
# its own denoised digits (the tiny rgl-trained DDPM denoiser, frozen), then
# certify it through the same denoiser.
#   python tools/train.py configs/denoised/ftcadis_smallconvnet_digits-chain-sigma0.5.py
#   python tools/certify.py configs/denoised/ftcadis_smallconvnet_digits-chain-sigma0.5.py \
#       work_dirs/ftcadis_smallconvnet_digits-chain-sigma0.5/epoch_5.pth \
#       --skip 6 --max 300 --out work_dirs/digits_chain/ftcadis.tsv
_base_ = ['./dds_smallconvnet_digits-sigma0.5.py']
sigma = 0.5
# any rgl classifier config takes the loss: here the plain ImageClassifier
model = dict(
    train_loss=dict(
        type='FTCADISLoss',
        denoiser={{_base_.denoiser}},
        sigma=sigma,
        num_noise=4,     # M, as on CIFAR-10
        lbd=4.0,         # λ, as on CIFAR-10
        epsilon=0.125,   # the paper's 64/256 in [-1, 1]
        num_steps=4,     # T
        warm_start=True))
# start from the clean classifier (the "off-the-shelf" model)
load_from = 'work_dirs/dds_smallconvnet_digits-sigma0.5/epoch_20.pth'
max_epochs = 5
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_interval=5)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.04),
    clip_grad=dict(max_norm=0.3))
param_scheduler = dict(_delete_=True, type='CosineAnnealingLR',
                       by_epoch=True, T_max=max_epochs)
certify_cfg = dict(sigma=sigma, n0=100, n=500, alpha=0.001, batch=2000)
