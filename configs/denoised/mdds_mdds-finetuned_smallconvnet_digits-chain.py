# The MDDS cascade σ = 1.0 → 0.5 → 0.25 of the digits chain through the
# MDDS-fine-tuned denoiser (dds_mdds-finetune_ddpm-dit-tiny_digits.py, 300
# iterations) instead of the original digits DDPM; same classifier, same
# images, same N.
#   python tools/certify_cascade.py configs/denoised/mdds_mdds-finetuned_smallconvnet_digits-chain.py \
#       work_dirs/dds_smallconvnet_digits-sigma0.5/epoch_20.pth \
#       --skip 6 --max 300 --n0 100 --n 500 --out work_dirs/digits_chain/mdds_ft.tsv
_base_ = ['./mdds_smallconvnet_digits-chain.py']
smoothing = dict(
    denoiser=dict(
        checkpoint='work_dirs/dds_mdds-finetune_ddpm-dit-tiny_digits/'
        'iter_300.pth',
        checkpoint_prefix='denoiser.model.'))
