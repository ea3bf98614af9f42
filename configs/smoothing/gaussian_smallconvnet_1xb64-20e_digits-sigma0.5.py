# Gaussian augmentation (Cohen et al. 2019) on the bundled digits, CPU-sized.
# Commands: configs/smoothing/README.md (train, certify, analyse).
_base_ = [
    '../_base_/models/small_convnet.py',
    '../_base_/datasets/digits_bs64.py',
    '../_base_/schedules/sgd_cosine_20e.py',
    '../_base_/default_runtime.py',
]
sigma = 0.5
model = dict(
    train_loss=dict(type='GaussianAugmentationLoss', sigma=sigma, num_noise=1))
# Digits are small: 10k draws per image keep certification to minutes.
certify_cfg = dict(sigma=sigma, n0=100, n=10_000, alpha=0.001, batch=2000)
default_hooks = dict(logger=dict(interval=10))
