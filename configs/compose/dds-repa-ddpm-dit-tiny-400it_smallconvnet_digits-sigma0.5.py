# Combination 1, certification through the REPA-trained denoiser
# (repa-ddpm_dit-tiny_400it_digits-denoiser.py): the same classifier, the
# same DDPM architecture; DDPMDenoiser drops the training-only aligner
# weights of the checkpoint. Commands and results: docs/compose.md.
_base_ = ['./dds-ddpm-dit-tiny-400it_smallconvnet_digits-sigma0.5.py']

smoothing = dict(denoiser=dict(
    checkpoint='work_dirs/compose/repa-ddpm_dit-tiny_400it_digits-denoiser/'
    'iter_400.pth'))
