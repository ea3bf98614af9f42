# VisA (Zou et al., ECCV 2022) with the 1-class split CSV of its release,
# one category per run: --cfg-options test_dataloader.dataset.category=pcb1
dataset_type = 'VisADataset'
data_root = 'data/visa'
category = 'candle'

test_dataloader = dict(
    batch_size=8,
    num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, category=category,
                 split='test', split_csv='split_csv/1cls.csv'))
test_evaluator = dict(type='AnomalyMetric', pixel_size=256, max_fpr=0.3)
test_cfg = dict(type='TestLoop')
