# REPA-E's main run: SiT-XL/2 and SD-VAE tuned end to end (Leng et al., ICCV
# 2025), ImageNet 256², 400K iterations at batch 256 (80 epochs): FID 4.07
# w/o CFG, 1.67 with CFG 2.2 on t <= 0.65 (REPA-E README, table A).
#   tools/dist_train.sh configs/repa_e/sit_xl2_repae_sdvae.py 8
# REPA-E's arguments: --proj-coeff 0.5 --encoder-depth 8 --enc-type
# dinov2-vit-b --vae-align-proj-coeff 1.5 --bn-momentum 0.1, linear path,
# v prediction, uniform t, lr 1e-4 (SiT, VAE and discriminator alike).
_base_ = ['../repa/_base_/sit_imagenet256.py']
custom_imports = dict(imports=['rgl.models.generative.repa_e'],
                      allow_failed_imports=False)

img_size = 256
# The starting VAE, a local diffusers folder: REPA-E's SD-VAE (f8d4) is
# derived from stabilityai/sd-vae-ft-mse. Its weights are trained here and
# saved in every checkpoint (`autoencoder.vae.*`, the E2E-VAE).
e2e_vae = dict(type='AutoencoderKL', pretrained='checkpoints/sd-vae-ft-mse')

model = dict(
    _delete_=True,
    type='REPAE',
    backbone=dict(type='SiT', arch='XL/2', input_size=img_size // 8,
                  in_channels=4, num_classes=1000, qk_norm=False),
    path='linear', weighting='uniform', prediction='v', label_dropout=0.1,
    vae=e2e_vae,
    aligners=[
        dict(type='REPAAligner', encoders=[{{_base_.dinov2_b}}], depth=8,
             projector_dim=2048, loss_weight=0.5)  # --proj-coeff
    ],
    vae_align_proj_coeff=1.5,
    bn_momentum=0.1,
    # REPA-E starts the BN's running statistics from the VAE's latent
    # statistics on ImageNet; fill them in here (4 values each) or let the
    # momentum 0.1 replace (0, 1) within the first ~50 iterations.
    latent_mean=None,
    latent_std=None,
    # the VAE's own loss: L1 (weight 1) + KL (1e-6) as REPA-E's
    # l1_lpips_kl_gan.yaml; its LPIPS (weight 1) and PatchGAN (weight 0.1)
    # are not shipped: pass `perceptual` with local weights to add LPIPS.
    reconstruction='l1', reconstruction_weight=1.0, kl_weight=1e-6,
    perceptual=None,
    sampler=dict(type='SDESampler', num_steps=250, cfg_scale=2.2,
                 guidance_interval=(0.0, 0.65)))

# images, not latents: the VAE changes during training
train_dataloader = dict(
    batch_size=32,  # per GPU: 8 GPUs = REPA-E's global batch 256
    dataset=dict(_delete_=True, type='ImageFolderDataset',
                 data_root='data/imagenet', split='train',
                 img_size=img_size))

# REPA-E steps SiT and VAE with two AdamW (lr 1e-4, betas (0.9, 0.999), no
# weight decay) from the same state; one AdamW over both takes the same
# step. Difference: the gradient norm is clipped to 1.0 jointly, not per
# model. `paramwise_cfg` keeps the VAE's lr separately adjustable.
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), eps=1e-8,
                   weight_decay=0.0),
    clip_grad=dict(max_norm=1.0),
    paramwise_cfg=dict(custom_keys={'autoencoder': dict(lr_mult=1.0)}))
