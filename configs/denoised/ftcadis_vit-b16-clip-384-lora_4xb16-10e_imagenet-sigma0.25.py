# FT-CADIS (TMLR 2024) on ImageNet: LoRA (r = 4, α = 4 on the attention qkv
# of every block, plus the head: about 1% of the parameters, through peft)
# of timm's vit_base_patch16_clip_384.laion2b_ft_in12k_in1k on its denoised
# images; denoiser guided-diffusion's 256x256_diffusion_uncond.pt (frozen).
# Weights: save the timm model's state_dict locally and set `checkpoint`.
#   bash tools/dist_train.sh configs/denoised/ftcadis_vit-b16-clip-384-lora_4xb16-10e_imagenet-sigma0.25.py 4
#   python tools/certify.py configs/denoised/ftcadis_vit-b16-clip-384-lora_4xb16-10e_imagenet-sigma0.25.py \
#       work_dirs/ftcadis_vit-b16-clip-384-lora_4xb16-10e_imagenet-sigma0.25/epoch_10.pth \
#       --out work_dirs/ftcadis_in1k_sigma0.25.tsv
_base_ = ['./dds_adm-256-uncond_beit-l16-512_imagenet-sigma0.25.py']
custom_imports = dict(imports=['rgl.models.classifiers.finetuned'],
                      allow_failed_imports=False)
sigma = 0.25
model = dict(
    _delete_=True,
    type='FineTunedClassifier',
    classifier=dict(
        type='OffTheShelfClassifier',
        backend='timm',
        model='vit_base_patch16_clip_384',
        checkpoint='checkpoints/vit_base_patch16_clip_384.laion2b_ft_in12k_'
        'in1k.pth',
        num_classes=1000,
        resize='bicubic',  # 224 → 384, as the reference
        model_kwargs=dict(drop_path_rate=0.0)),  # --drop_path 0.0 (ImageNet)
    lora=dict(r=4, lora_alpha=4, lora_dropout=0.0, target_modules=['qkv']),
    trainable=('head', ),
    train_loss=dict(
        type='FTCADISLoss',
        denoiser={{_base_.denoiser}},
        sigma=sigma,
        num_noise=2,      # M
        lbd=2.0,          # λ
        epsilon=0.125,    # --eps 64 (64/256 in [-1, 1])
        num_steps=1,      # T
        warm_start=True))
# effective batch 128 = 4 GPUs × 16 × accum 4 / M=2 in the reference:
# here 4 GPUs × 16 images × 2 accumulation steps
train_dataloader = dict(batch_size=16)
val_dataloader = dict(batch_size=64)
test_dataloader = val_dataloader
max_epochs = 10
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_interval=1)
val_cfg = dict()
test_cfg = dict()
lr = 4e-4 * 128 / 256  # blr · effective batch / 256
optim_wrapper = dict(
    type='AmpOptimWrapper',
    accumulative_counts=2,
    optimizer=dict(type='AdamW', lr=lr, betas=(0.9, 0.999),
                   weight_decay=0.01),
    clip_grad=dict(max_norm=1.0),
    # layer-wise lr decay 0.9 (--layer_decay 0.9): block i of 12 at
    # lr · 0.9^(12 − i), the embeddings at 0.9^13, the head at lr; no weight
    # decay on 1-D parameters, cls_token and pos_embed (param_groups_lora_lrd)
    constructor='LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.9,
        flat_decay_mult=0.0,
        custom_keys={'.cls_token': dict(decay_mult=0.0),
                     '.pos_embed': dict(decay_mult=0.0)}))
# 1 warm-up epoch then cosine to min_lr 1e-6 (scaled per layer, as the
# reference's lr_sched); weight decay 0.01 → 0.1 on the decayed groups
# only (ratios keep the per-layer scales and the zero-decay groups)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=max_epochs,
         eta_min_ratio=1e-6 / lr, convert_to_iter_based=True),
    dict(type='CosineAnnealingParamScheduler', param_name='weight_decay',
         by_epoch=True, begin=0, end=max_epochs, eta_min_ratio=10.0,
         convert_to_iter_based=True),
]
# the reference certifies with N = 10k, batch 32
certify_cfg = dict(sigma=sigma, n0=100, n=10_000, alpha=0.001, batch=32,
                   skip=50)
