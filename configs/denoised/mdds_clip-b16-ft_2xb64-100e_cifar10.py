# The base classifier of MDDS (Jeong & Shin, NeurIPS 2023) on CIFAR-10: the
# OpenAI CLIP-B/16 image tower fine-tuned on clean CIFAR-10 at 224², as the
# reference's scripts/ft_clip/cifar10.sh (FT-CLIP recipe): 2 GPUs × 64,
# AdamW lr 6e-4 (not scaled by the batch in that code), 10 warm-up epochs
# from 1e-6 then cosine to 1e-6, 100 epochs, layer-wise lr decay 0.6,
# weight decay 0.05, drop path 0, label smoothing 0.1, EMA 0.9998 (the EMA
# weights are certified), mean pooling of the patch tokens after a fresh
# LayerNorm (FT-CLIP's fc_norm; timm: global_pool='avg', fc_norm=False
# puts the same per-token LayerNorm in `norm`), Inception mean/std 0.5.
# Not reproduced: the BEiT pipeline's RandAugment (rand-m9-mstd0.5-inc1),
# color jitter 0.4 and random erasing 0.25; CIFAR-10 uses crop-and-flip here.
# The pretrained tower, saved locally without its projection head and
# ln_post (the reference drops ln_post; `norm` and `head` start fresh):
#   python -c "import timm, torch; m = timm.create_model(
#     'vit_base_patch16_clip_quickgelu_224.openai', pretrained=True,
#     num_classes=0); torch.save({k: v for k, v in m.state_dict().items()
#     if not k.startswith('norm.')},
#     'checkpoints/vit_base_patch16_clip_quickgelu_224.openai.pth')"
#   bash tools/dist_train.sh configs/denoised/mdds_clip-b16-ft_2xb64-100e_cifar10.py 2
# then certify with mdds_adm-cifar10-uncond_clip-b16_cifar10.py.
_base_ = [
    '../_base_/datasets/cifar10_bs256.py',
    '../_base_/default_runtime.py',
]
custom_imports = dict(imports=['rgl.models.classifiers.finetuned'],
                      allow_failed_imports=False)
num_classes = 10
clip_b16 = dict(
    type='OffTheShelfClassifier',
    backend='timm',
    model='vit_base_patch16_clip_quickgelu_224',  # OpenAI CLIP: QuickGELU
    num_classes=num_classes,
    resize='bicubic',  # 32 → 224, the reference's Resize(224, BICUBIC)
    mean=[0.5, 0.5, 0.5],  # the reference's "always Inception mean/std"
    std=[0.5, 0.5, 0.5],
    model_kwargs=dict(global_pool='avg', fc_norm=False, drop_path_rate=0.0))
model = dict(
    type='FineTunedClassifier',
    classifier=dict(
        clip_b16,
        checkpoint='checkpoints/vit_base_patch16_clip_quickgelu_224.openai'
        '.pth',
        missing_ok=('head.', 'norm.')),  # fresh head and fc_norm
    lora=None,
    label_smoothing=0.1)
train_dataloader = dict(batch_size=64)  # × 2 GPUs
val_dataloader = dict(batch_size=256)
test_dataloader = val_dataloader
lr = 6e-4
max_epochs = 100
warmup_epochs = 10
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_interval=10)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(
    type='AmpOptimWrapper',  # DeepSpeed fp16 in the reference
    optimizer=dict(type='AdamW', lr=lr, betas=(0.9, 0.999), eps=1e-8,
                   weight_decay=0.05),
    constructor='LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.6,
        flat_decay_mult=0.0,
        custom_keys={'.cls_token': dict(decay_mult=0.0),
                     '.pos_embed': dict(decay_mult=0.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / lr, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs,
         end=max_epochs, eta_min_ratio=1e-6 / lr,
         convert_to_iter_based=True),
]
# --model_ema --model_ema_decay 0.9998
custom_hooks = [dict(type='EMAHook', momentum=2e-4, update_buffers=True,
                     priority=49)]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10,
                                     max_keep_ckpts=2))
