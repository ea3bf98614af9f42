# A pixel-space DDPM (DiT, linear β, T = 1000, learned Σ) on the bundled
# 16x16 grey digits: the tiny denoiser of the CPU chain. Trained by
# ../dds_denoiser_ddpm-dit-tiny_digits.py; certification configs point
# `checkpoint` at its final checkpoint.
denoiser_model = dict(
    type='DDPM',
    num_timesteps=1000,
    backbone=dict(
        type='DiT',
        arch=dict(depth=3, hidden_size=64, num_heads=4, patch_size=2),
        input_size=16, in_channels=1, num_classes=10,
        learn_sigma=True),
    # the denoiser always uses the null class ∅: train it most of the time
    label_dropout=0.9)
denoiser = dict(
    type='DDPMDenoiser',
    model=denoiser_model,
    checkpoint='work_dirs/dds_denoiser_ddpm-dit-tiny_digits/iter_1500.pth')
