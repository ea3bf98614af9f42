# REPA-E on the bundled digits (CPU proxy of sit_xl2_repae_sdvae.py): a tiny
# randomly initialised diffusers AutoencoderKL (1 -> 4 channels, f = 2) is
# trained end to end with a 4-block SiT/1 on its 8 x 8 latents; REPA aligns
# block 2 to the shipped MAE encoder's 8 x 8 tokens, as the REPA digits
# config. Create the VAE folder once (see configs/repa_e/README.md):
#   python -c "from diffusers import AutoencoderKL as A; A(in_channels=1, \
#       out_channels=1, block_out_channels=(16, 32), layers_per_block=1, \
#       norm_num_groups=8, latent_channels=4, sample_size=16, \
#       down_block_types=('DownEncoderBlock2D',)*2, \
#       up_block_types=('UpDecoderBlock2D',)*2).save_pretrained( \
#       'work_dirs/repa_e/vae-tiny-digits')"
#   tools/dist_train.sh configs/repa_e/sit-tiny_repae_digits.py 2
_base_ = ['../repa/_base_/sit_tiny_digits.py']
custom_imports = dict(imports=['rgl.models.generative.repa_e'],
                      allow_failed_imports=False)

model = dict(
    type='REPAE',
    backbone=dict(arch=dict(patch_size=1), input_size=8, in_channels=4),
    vae=dict(type='AutoencoderKL',
             pretrained='work_dirs/repa_e/vae-tiny-digits'),
    aligners=[
        dict(type='REPAAligner', encoders=[{{_base_.digits_encoder}}],
             depth=2, projector_dim=256, loss_weight=0.5)
    ],
    vae_align_proj_coeff=1.5,
    bn_momentum=0.1,
    reconstruction='l1', reconstruction_weight=1.0, kl_weight=1e-6)
