# MetaMAE on DABS HIGGS (tabular: 28 features, one token each).
# The official repository gives a command for PAMAP2 only; HIGGS runs with
# pretrain.py's defaults (mask 0.5, alpha 0.5, lambda 0.1, s 0.1).
#   python tools/train.py configs/metamae/metamae_dabs_1xb256-100k_higgs.py
#   python tools/metamae/linear_probe.py \
#       configs/metamae/metamae_dabs_1xb256-100k_higgs.py \
#       work_dirs/metamae_dabs_1xb256-100k_higgs/iter_100000.pth
_base_ = ['./_base_/metamae_dabs.py']

data_root = 'data/dabs'
model = dict(tokenizer=dict(type='TabularTokenizer', num_features=28))

train_dataloader = dict(
    batch_size=256,
    num_workers=6,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='HIGGSDataset', data_root=data_root,
                 subset='pretrain', split='train'))

probe = dict(
    batch_size=256,
    train=dict(type='HIGGSDataset', data_root=data_root, subset='transfer',
               split='train'),
    test=dict(type='HIGGSDataset', data_root=data_root, subset='transfer',
              split='test'))
