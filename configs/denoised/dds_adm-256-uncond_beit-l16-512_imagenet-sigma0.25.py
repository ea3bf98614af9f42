# DDS (Carlini et al., ICLR 2023) on ImageNet: guided-diffusion's
# 256x256_diffusion_uncond.pt one-shot denoiser on the 224x224 center crops
# of the reference, then BEiT-L/16 at 512 (timm `beit_large_patch16_512`,
# in22k -> in1k), inputs resized 224 -> 512 bicubic.
#   python tools/certify.py configs/denoised/dds_adm-256-uncond_beit-l16-512_imagenet-sigma0.25.py \
#       checkpoints/beit_large_patch16_512.pth --out work_dirs/dds_in1k_sigma0.25.tsv
_base_ = [
    '../_base_/datasets/imagenet_bs256.py',
    '../_base_/default_runtime.py',
    './_base_/denoisers/adm_guided-diffusion_256-uncond.py',
]
sigma = 0.25
model = dict(
    type='OffTheShelfClassifier',
    backend='timm',
    model='beit_large_patch16_512',  # weights: the certify CHECKPOINT
    num_classes=1000,
    resize='bicubic')  # mean = std = 0.5 from timm's pretrained_cfg
smoothing = dict(type='SmoothedClassifier', denoiser={{_base_.denoiser}})
# the paper's run: every 50th validation image (1,000), N = 10k
certify_cfg = dict(sigma=sigma, n0=100, n=10_000, alpha=0.001, batch=200,
                   skip=50)
