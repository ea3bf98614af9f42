# Diffusion denoised smoothing (DDS) on the bundled digits, CPU-sized: a
# clean SmallConvNet classifier certified through the tiny rgl-trained DDPM
# denoiser. Commands (configs/denoised/README.md, DDS section):
#   python tools/train.py configs/denoised/dds_denoiser_ddpm-dit-tiny_digits.py
#   python tools/train.py configs/denoised/dds_smallconvnet_digits-sigma0.5.py
#   python tools/certify.py configs/denoised/dds_smallconvnet_digits-sigma0.5.py \
#       work_dirs/dds_smallconvnet_digits-sigma0.5/epoch_20.pth --out dds.tsv
_base_ = [
    '../_base_/models/small_convnet.py',
    '../_base_/datasets/digits_bs64.py',
    '../_base_/schedules/sgd_cosine_20e.py',
    '../_base_/default_runtime.py',
    './_base_/denoisers/ddpm_dit-tiny_digits.py',
]
sigma = 0.5
# the classifier is trained on clean digits (off the shelf); the denoiser
# D(x + δ; σ) sits between the noise and the classifier
smoothing = dict(type='SmoothedClassifier', denoiser={{_base_.denoiser}})
certify_cfg = dict(sigma=sigma, n0=100, n=10_000, alpha=0.001, batch=2000)
default_hooks = dict(logger=dict(interval=10))
