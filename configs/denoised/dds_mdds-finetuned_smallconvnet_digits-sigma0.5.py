# DDS on digits through the MDDS-fine-tuned denoiser
# (dds_mdds-finetune_ddpm-dit-tiny_digits.py):
#   python tools/certify.py configs/denoised/dds_mdds-finetuned_smallconvnet_digits-sigma0.5.py \
#       work_dirs/dds_smallconvnet_digits-sigma0.5/epoch_20.pth --out ft.tsv
_base_ = ['./dds_smallconvnet_digits-sigma0.5.py']
smoothing = dict(
    denoiser=dict(
        checkpoint='work_dirs/dds_mdds-finetune_ddpm-dit-tiny_digits/'
        'iter_300.pth',
        checkpoint_prefix='denoiser.model.'))
