# Combination 4: NIB's nuisance-extended encoder trained further with CAT-RS.
# Stage 1 trains NIB (configs/nib/nib_smallconvnet_1xb64-20e_digits-holdout9.py:
# SmallConvNet split into the IB latent z and the nuisance map z_n, with
# decoder and adversary). Stage 2 (this config) puts that encoder under
# CAT-RS at σ = 0.25 (λ = 0.5, the CIFAR-10 setting for 0.25; M = 4,
# ε = 1, T = 4) for 3 epochs, as the classifier `ImageClassifier` (the
# encoder's 64 channels, pooled, then a new linear head); the NIB-only
# parts (μ/σ head, decoder, adversary) are not loaded, hence --non-strict.
# The control, catrs-from-ce_..., runs stage 2 from the cross-entropy model
# of the same budget. Why two stages: docs/compose.md (NIB has no
# `train_loss` slot yet).
#   python tools/train.py configs/nib/nib_smallconvnet_1xb64-20e_digits-holdout9.py \
#       --work-dir work_dirs/compose/nib_digits-holdout9
#   python tools/train.py configs/compose/catrs-from-nib_smallconvnet_1xb64-3e_digits-holdout9-sigma0.25.py \
#       --work-dir work_dirs/compose/catrs-from-nib --non-strict
#   python tools/certify.py configs/compose/catrs-from-nib_smallconvnet_1xb64-3e_digits-holdout9-sigma0.25.py \
#       work_dirs/compose/catrs-from-nib/epoch_3.pth --skip 2 --out work_dirs/compose/catrs-from-nib.tsv
_base_ = ['../nib/ce_smallconvnet_1xb64-20e_digits-holdout9.py']

sigma = 0.25
model = dict(
    train_loss=dict(type='CATRSLoss', sigma=sigma, num_noise=4, lbd=0.5,
                    epsilon=1.0, num_steps=4))
load_from = 'work_dirs/compose/nib_digits-holdout9/epoch_20.pth'
max_epochs = 3
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = dict(T_max=max_epochs)
# the NIB digits settings of tools/certify.py (every 2nd test image: --skip 2)
certify_cfg = dict(sigma=sigma, n0=100, n=1000, alpha=0.001, batch=1000)
