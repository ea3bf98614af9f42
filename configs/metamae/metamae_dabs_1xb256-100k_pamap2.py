# MetaMAE on DABS PAMAP2 (time series: 52 sensors x 320 steps, segments of
# 5 steps -> 64 tokens), the official README's command:
#   --inner-lr 0.5 --reg-weight 1 --num-layer-dec 4 --dropout 0.1
#   --mask-ratio 0.85
# Data layout: docs/methods/metamae.md. Train and evaluate:
#   python tools/train.py configs/metamae/metamae_dabs_1xb256-100k_pamap2.py
#   python tools/metamae/linear_probe.py \
#       configs/metamae/metamae_dabs_1xb256-100k_pamap2.py \
#       work_dirs/metamae_dabs_1xb256-100k_pamap2/iter_100000.pth
_base_ = ['./_base_/metamae_dabs.py']

data_root = 'data/dabs'
model = dict(
    tokenizer=dict(type='SequencePatchTokenizer', seq_len=320, patch_size=5,
                   in_channels=52),
    mask_ratio=0.85, inner_lr=0.5, reg_weight=1.0)

train_dataloader = dict(
    batch_size=256,
    num_workers=6,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='PAMAP2Dataset', data_root=data_root, split='train'))

# MetaMAE's transfer protocol: probe trained on windows of the training
# subjects, tested on subjects 105 and 106
probe = dict(
    batch_size=256,
    train=dict(type='PAMAP2Dataset', data_root=data_root, split='train'),
    test=dict(type='PAMAP2Dataset', data_root=data_root, split='heldout'))
