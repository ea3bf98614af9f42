# DiT on ImageNet 256² latents: DDPM with linear betas, T = 1000, learned
# sigma and the hybrid loss; the rest of the recipe as REPA's SiT runs.
_base_ = ['./sit_imagenet256.py']

model = dict(
    _delete_=True,
    type='DDPM',
    backbone=dict(type='DiT', arch='XL/2', input_size={{_base_.latent_size}},
                  in_channels=4, num_classes=1000, learn_sigma=True),
    num_timesteps=1000, label_dropout=0.1, aligners=None,
    vae={{_base_.vae}},
    # DiT's evaluation: 250 DDPM steps (CFG 1.5 for its guided numbers)
    sampler=dict(type='DDPMSampler', num_steps=250))
custom_hooks = [
    dict(type='RandomStateHook'),
    dict(type='EMAHook', momentum=1e-4, update_buffers=True, priority=49),
    dict(type='GenerationEvalHook', interval=10000,
         grid_labels=[207, 360, 387, 974, 88, 979, 417, 279], grid_rows=2,
         sampler=dict(type='DDPMSampler', num_steps=250, cfg_scale=4.0),
         batch_size=16),
]
