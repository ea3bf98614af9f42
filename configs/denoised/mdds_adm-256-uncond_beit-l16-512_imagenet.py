# MDDS (Jeong & Shin, NeurIPS 2023) on ImageNet: the cascade σ = 1.0 → 0.5
# → 0.25 through guided-diffusion's 256x256_diffusion_uncond.pt and the
# BEiT-L/16-512 of DDS, off the shelf: a variant. The paper's setting (its
# fine-tuned CLIP-B/16) is mdds_adm-256-uncond_clip-b16_imagenet.py.
#   python tools/certify_cascade.py configs/denoised/mdds_adm-256-uncond_beit-l16-512_imagenet.py \
#       checkpoints/beit_large_patch16_512.pth --out work_dirs/mdds_in1k.tsv
_base_ = ['./dds_adm-256-uncond_beit-l16-512_imagenet-sigma0.25.py']
cascade = dict(sigmas=[1.0, 0.5, 0.25], skip_p=0.5, unif_w=0.1)
# N = 10k per stage as the reference's scripts; every 50th image (1,000)
certify_cfg = dict(n0=100, n=10_000, alpha=0.001, batch=200, skip=50)
