# The control of nib-catrs_smallconvnet_1xb64-10e_digits-holdout9-sigma0.25.py:
# the same SmallConvNet, data (digit 9 held out), budget and CAT-RS loss, as
# a plain ImageClassifier without the NIB terms.
#   python tools/train.py configs/compose/ce-catrs_smallconvnet_1xb64-10e_digits-holdout9-sigma0.25.py
#   python tools/certify.py configs/compose/ce-catrs_smallconvnet_1xb64-10e_digits-holdout9-sigma0.25.py \
#       work_dirs/ce-catrs_smallconvnet_1xb64-10e_digits-holdout9-sigma0.25/epoch_10.pth \
#       --skip 2 --out work_dirs/compose/ce-catrs.tsv
_base_ = ['../nib/ce_smallconvnet_1xb64-20e_digits-holdout9.py']

sigma = 0.25
model = dict(
    train_loss=dict(type='CATRSLoss', sigma=sigma, num_noise=4, lbd=0.5,
                    epsilon=1.0, num_steps=4))
max_epochs = 10
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = dict(T_max=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
certify_cfg = dict(sigma=sigma, n0=100, n=1000, alpha=0.001, batch=1000)
