# Combination 4 in one stage: NIB's nuisance-extended encoder trained with
# CAT-RS. NuisanceIBClassifier's `train_loss` slot takes any robust objective
# of rgl.models.losses in place of CE(c(z), y); the VIB, reconstruction and
# nuisance-adversary terms stay on the clean input. CAT-RS at σ = 0.25
# (λ = 0.5, M = 4, ε = 1, T = 4), 10 epochs from scratch. The control with
# the same budget and loss but no NIB terms is ce-catrs_... beside this file.
#   python tools/train.py configs/compose/nib-catrs_smallconvnet_1xb64-10e_digits-holdout9-sigma0.25.py
#   python tools/certify.py configs/compose/nib-catrs_smallconvnet_1xb64-10e_digits-holdout9-sigma0.25.py \
#       work_dirs/nib-catrs_smallconvnet_1xb64-10e_digits-holdout9-sigma0.25/epoch_10.pth \
#       --skip 2 --out work_dirs/compose/nib-catrs.tsv
_base_ = ['../nib/nib_smallconvnet_1xb64-20e_digits-holdout9.py']

sigma = 0.25
model = dict(
    train_loss=dict(type='CATRSLoss', sigma=sigma, num_noise=4, lbd=0.5,
                    epsilon=1.0, num_steps=4))
max_epochs = 10
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = dict(T_max=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
certify_cfg = dict(sigma=sigma, n0=100, n=1000, alpha=0.001, batch=1000)
