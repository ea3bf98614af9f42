# MetaMAE on the bundled digits as a table (64 features, one token each:
# the tabular modality of HIGGS at toy scale), CPU quickstart.
#   python tools/train.py \
#       configs/metamae/metamae-tiny_1xb64-300it_digits-table.py
_base_ = ['./_base_/tiny_digits.py']

model = dict(tokenizer=dict(type='TabularTokenizer', num_features=64))
train_dataloader = dict(dataset=dict(type='DigitsTableDataset',
                                     split='train'))
probe = dict(
    train=dict(type='DigitsTableDataset', split='train'),
    test=dict(type='DigitsTableDataset', split='test'))
