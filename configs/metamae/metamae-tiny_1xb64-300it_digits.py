# MetaMAE on the bundled 8x8 digits as images (patches 2x2 -> 4x4 tokens),
# CPU quickstart (1-2 minutes):
#   python tools/train.py configs/metamae/metamae-tiny_1xb64-300it_digits.py
#   python tools/metamae/linear_probe.py \
#       configs/metamae/metamae-tiny_1xb64-300it_digits.py \
#       work_dirs/metamae-tiny_1xb64-300it_digits/iter_300.pth --probe logreg
_base_ = ['./_base_/tiny_digits.py']

model = dict(tokenizer=dict(type='ImagePatchTokenizer', img_size=8,
                            patch_size=2, in_channels=1))
train_dataloader = dict(
    dataset=dict(type='DigitsDataset', split='train', img_size=8))
probe = dict(
    train=dict(type='DigitsDataset', split='train', img_size=8),
    test=dict(type='DigitsDataset', split='test', img_size=8))
