# MVTec AD (Bergmann et al., CVPR 2019) in its released layout, one category
# per run: --cfg-options test_dataloader.dataset.category=screw
dataset_type = 'MVTecADDataset'
data_root = 'data/mvtec_ad'
category = 'bottle'

test_dataloader = dict(
    batch_size=8,
    num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, category=category,
                 split='test'))
# Pixel metrics on 256x256 maps/masks: MVTec images are up to 1024x1024 and
# a full-resolution pixel AUROC sorts ~10^8 scores per category. Set
# pixel_size=None to evaluate at the original resolution.
test_evaluator = dict(type='AnomalyMetric', pixel_size=256, max_fpr=0.3)
test_cfg = dict(type='TestLoop')
