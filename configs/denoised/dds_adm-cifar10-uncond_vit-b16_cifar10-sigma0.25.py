# DDS (Carlini et al., ICLR 2023) on CIFAR-10: improved-diffusion's
# cifar10_uncond_50M_500K.pt one-shot denoiser + the ViT-B/16 (ImageNet-21k,
# fine-tuned on CIFAR-10) of the paper, inputs resized 32 -> 224 bicubic.
#   python tools/certify.py configs/denoised/dds_adm-cifar10-uncond_vit-b16_cifar10-sigma0.25.py \
#       checkpoints/vit-base-patch16-224-in21k-finetuned-cifar10/pytorch_model.bin \
#       --out work_dirs/dds_cifar10_sigma0.25.tsv
_base_ = [
    '../_base_/datasets/cifar10_bs256.py',
    '../_base_/default_runtime.py',
    './_base_/denoisers/adm_improved-diffusion_cifar10-uncond.py',
]
sigma = 0.25
# HF `aaraki/vit-base-patch16-224-in21k-finetuned-cifar10`, saved locally
# (save_pretrained folder); mean = std = 0.5 from its preprocessor config
model = dict(
    type='OffTheShelfClassifier',
    backend='transformers',
    model='checkpoints/vit-base-patch16-224-in21k-finetuned-cifar10',
    num_classes=10,
    resize='bicubic')
smoothing = dict(type='SmoothedClassifier', denoiser={{_base_.denoiser}})
# the paper's run: every test image, N0 = 100, N = 100k, α = 0.001
certify_cfg = dict(sigma=sigma, n0=100, n=100_000, alpha=0.001, batch=200,
                   skip=1)
