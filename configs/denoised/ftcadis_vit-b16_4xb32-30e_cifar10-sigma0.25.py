# FT-CADIS (Jang, Kim, Shin, Jeong; TMLR 2024) on CIFAR-10: full fine-tuning
# of the off-the-shelf ViT-B/16 (HF aaraki/vit-base-patch16-224-in21k-
# finetuned-cifar10, saved locally) on its own denoised images, the denoiser
# improved-diffusion's cifar10_uncond_50M_500K.pt (frozen).
#   bash tools/dist_train.sh configs/denoised/ftcadis_vit-b16_4xb32-30e_cifar10-sigma0.25.py 4
#   python tools/certify.py configs/denoised/ftcadis_vit-b16_4xb32-30e_cifar10-sigma0.25.py \
#       work_dirs/ftcadis_vit-b16_4xb32-30e_cifar10-sigma0.25/epoch_30.pth \
#       --out work_dirs/ftcadis_cifar10_sigma0.25.tsv
_base_ = ['./dds_adm-cifar10-uncond_vit-b16_cifar10-sigma0.25.py']
custom_imports = dict(imports=['rgl.models.classifiers.finetuned'],
                      allow_failed_imports=False)
sigma = 0.25
classifier = {{_base_.model}}
model = dict(
    _delete_=True,
    type='FineTunedClassifier',
    classifier=classifier,
    lora=None,  # full fine-tuning on CIFAR-10
    # --drop_path 0.2: on its transformers ViT the reference sets block i's
    # attention-probability dropout to linspace(0, 0.2, 12)[i]
    attention_dropout_ramp=0.2,
    train_loss=dict(
        type='FTCADISLoss',
        denoiser={{_base_.denoiser}},
        sigma=sigma,
        num_noise=4,      # M
        lbd=4.0,          # λ
        epsilon=0.125,    # --eps 64: 64/256 in [-1, 1] = 0.125 in [0, 1]
        num_steps=4,      # T
        warm_start=True))
# effective batch 128 images = 4 GPUs × 32 (the reference: 4 × 32 × accum 4
# / M); lr = blr · 128 / 256 with blr = 1e-4
train_dataloader = dict(batch_size=32)
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader
max_epochs = 30
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_interval=5)
val_cfg = dict()
test_cfg = dict()
lr = 1e-4 * 128 / 256
optim_wrapper = dict(
    type='AmpOptimWrapper',  # the reference trains in fp16
    optimizer=dict(type='AdamW', lr=lr, betas=(0.9, 0.999),
                   weight_decay=0.04),
    clip_grad=dict(max_norm=0.3),
    # layer-wise lr decay 0.65 (--layer_decay 0.65, param_groups_lrd):
    # block i of 12 at lr · 0.65^(12 − i), the embeddings at 0.65^13, the
    # head at lr; no weight decay on 1-D parameters, cls_token and
    # position_embeddings
    constructor='LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.65,
        flat_decay_mult=0.0,
        custom_keys={'.cls_token': dict(decay_mult=0.0),
                     '.position_embeddings': dict(decay_mult=0.0)}))
# 3 warm-up epochs then cosine to min_lr 1e-6 (scaled per layer); weight
# decay 0.04 → 0.4 (cosine) on the decayed groups
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=3,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=3, end=max_epochs,
         eta_min_ratio=1e-6 / lr, convert_to_iter_based=True),
    dict(type='CosineAnnealingParamScheduler', param_name='weight_decay',
         by_epoch=True, begin=0, end=max_epochs, eta_min_ratio=10.0,
         convert_to_iter_based=True),
]
certify_cfg = dict(sigma=sigma, n0=100, n=100_000, alpha=0.001, batch=400,
                   skip=1)
