# MDDS on ImageNet in the paper's setting: the cascade σ = 1.0 → 0.5 → 0.25
# through guided-diffusion's 256x256_diffusion_uncond.pt on the reference's
# 224² center crops, then the CLIP-B/16 fine-tuned on ImageNet by
# mdds_clip-b16-ft_8xb256-50e_in1k.py (EMA weights), N = 10k per stage,
# every 50th validation image.
#   tools/dist_run.sh certify_cascade.py 8 configs/denoised/mdds_adm-256-uncond_clip-b16_imagenet.py \
#       work_dirs/mdds_clip-b16-ft_8xb256-50e_in1k/epoch_50.pth --out work_dirs/mdds_in1k.tsv
_base_ = ['./mdds_adm-256-uncond_beit-l16-512_imagenet.py']
custom_imports = dict(imports=['rgl.models.classifiers.finetuned'],
                      allow_failed_imports=False)
model = dict(
    _delete_=True,
    type='FineTunedClassifier',
    classifier=dict(
        type='OffTheShelfClassifier',
        backend='timm',
        model='vit_base_patch16_clip_quickgelu_224',
        num_classes=1000,
        resize='bicubic',
        mean=[0.5, 0.5, 0.5],
        std=[0.5, 0.5, 0.5],
        model_kwargs=dict(global_pool='avg', fc_norm=False,
                          drop_path_rate=0.0)))
