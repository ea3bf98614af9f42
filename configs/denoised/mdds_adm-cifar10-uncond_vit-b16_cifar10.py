# Multi-scale diffusion denoised smoothing (MDDS; Jeong & Shin, NeurIPS 2023)
# on CIFAR-10: the cascade σ = 1.0 → 0.5 → 0.25 over one denoised smoothed
# classifier (improved-diffusion cifar10_uncond_50M_500K.pt, one call per
# copy, the network sees √ᾱ_t·(x' + δ')). A variant: the classifier is the
# DDS ViT-B/16 off the shelf. The paper's setting (its fine-tuned
# CLIP-B/16) is mdds_adm-cifar10-uncond_clip-b16_cifar10.py.
#   python tools/certify_cascade.py configs/denoised/mdds_adm-cifar10-uncond_vit-b16_cifar10.py \
#       checkpoints/vit-base-patch16-224-in21k-finetuned-cifar10/pytorch_model.bin \
#       --out work_dirs/mdds_cifar10.tsv
_base_ = ['./dds_adm-cifar10-uncond_vit-b16_cifar10-sigma0.25.py']
# the reference's certify.py: stages from the largest σ, threshold
# p0 = --skip_p 0.5, stage s at α/s, N0 = 100, N = 10k, batch 5000
cascade = dict(sigmas=[1.0, 0.5, 0.25], skip_p=0.5, unif_w=0.1)
certify_cfg = dict(n0=100, n=10_000, alpha=0.001, batch=5000, skip=1)
