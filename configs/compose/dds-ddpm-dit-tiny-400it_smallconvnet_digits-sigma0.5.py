# Combination 1, certification: the clean digits SmallConvNet of
# configs/denoised/dds_smallconvnet_digits-sigma0.5.py certified through the
# baseline DDPM DiT of ddpm_dit-tiny_400it_digits-denoiser.py (DDPMDenoiser,
# null class, EMA weights). Commands and results: docs/compose.md.
_base_ = ['../denoised/dds_smallconvnet_digits-sigma0.5.py']

smoothing = dict(denoiser=dict(
    checkpoint='work_dirs/compose/ddpm_dit-tiny_400it_digits-denoiser/'
    'iter_400.pth'))
certify_cfg = dict(n0=100, n=500, alpha=0.001, batch=1000)
