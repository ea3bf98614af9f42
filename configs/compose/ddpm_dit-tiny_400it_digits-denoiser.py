# Combination 1, baseline arm: the tiny digits DDPM DiT of the denoised
# family (configs/denoised/dds_denoiser_ddpm-dit-tiny_digits.py) with the
# composition budget, 400 iterations of batch 64, no alignment.
#   OMP_NUM_THREADS=1 python tools/train.py \
#       configs/compose/ddpm_dit-tiny_400it_digits-denoiser.py
_base_ = ['../denoised/dds_denoiser_ddpm-dit-tiny_digits.py']

max_iters = 400
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
randomness = dict(seed=0)
