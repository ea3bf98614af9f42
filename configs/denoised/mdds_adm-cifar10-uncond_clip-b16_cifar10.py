# MDDS (Jeong & Shin, NeurIPS 2023) on CIFAR-10 in the paper's setting: the
# cascade σ = 1.0 → 0.5 → 0.25 through improved-diffusion's
# cifar10_uncond_50M_500K.pt (one call per copy, the network sees
# √ᾱ_t·(x' + δ')), then the CLIP-B/16 fine-tuned on CIFAR-10 by
# mdds_clip-b16-ft_2xb64-100e_cifar10.py (its EMA weights: the reference
# certifies `model_ema`). The reference's certify.py: stages from the
# largest σ, p0 = --skip_p 0.5, stage s at α/s, N0 = 100, N = 10k, batch 5000.
#   python tools/certify_cascade.py configs/denoised/mdds_adm-cifar10-uncond_clip-b16_cifar10.py \
#       work_dirs/mdds_clip-b16-ft_2xb64-100e_cifar10/epoch_100.pth \
#       --out work_dirs/mdds_cifar10.tsv
_base_ = ['./mdds_adm-cifar10-uncond_vit-b16_cifar10.py']
custom_imports = dict(imports=['rgl.models.classifiers.finetuned'],
                      allow_failed_imports=False)
model = dict(
    _delete_=True,
    type='FineTunedClassifier',  # the key layout of the fine-tuned file
    classifier=dict(
        type='OffTheShelfClassifier',
        backend='timm',
        model='vit_base_patch16_clip_quickgelu_224',
        num_classes=10,
        resize='bicubic',
        mean=[0.5, 0.5, 0.5],
        std=[0.5, 0.5, 0.5],
        model_kwargs=dict(global_pool='avg', fc_norm=False,
                          drop_path_rate=0.0)))
