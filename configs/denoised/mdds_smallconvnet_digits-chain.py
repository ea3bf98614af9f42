# The MDDS step of the digits CPU chain (configs/denoised/README.md): the
# cascade σ = 1.0 → 0.5 → 0.25 over the clean SmallConvNet certified through
# the tiny rgl-trained DDPM denoiser of dds_smallconvnet_digits-sigma0.5.py.
#   python tools/certify_cascade.py configs/denoised/mdds_smallconvnet_digits-chain.py \
#       work_dirs/dds_smallconvnet_digits-sigma0.5/epoch_20.pth \
#       --skip 6 --max 300 --out work_dirs/digits_chain/mdds.tsv
_base_ = ['./dds_smallconvnet_digits-sigma0.5.py']
cascade = dict(sigmas=[1.0, 0.5, 0.25], skip_p=0.5, unif_w=0.1)
# CPU-sized: N = 500 per stage (the paper: 10k)
certify_cfg = dict(n0=100, n=500, alpha=0.001, batch=2000)
