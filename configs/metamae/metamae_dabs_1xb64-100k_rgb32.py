# MetaMAE on 32x32 RGB images (DABS' ImageNet32 / Wafer-map modality:
# patches of 4x4 -> 8x8 tokens, batch 64 as the official image configs).
# Images: a folder tree data/imagenet32/train/<class>/<image> (any size,
# centre-cropped and resized to 32x32), read by ImageFolderDataset; pixels
# stay in [0, 1] as the official ToTensor.
#   python tools/train.py configs/metamae/metamae_dabs_1xb64-100k_rgb32.py
_base_ = ['./_base_/metamae_dabs.py']

data_root = 'data/imagenet32'
model = dict(tokenizer=dict(type='ImagePatchTokenizer', img_size=32,
                            patch_size=4, in_channels=3))

train_dataloader = dict(
    batch_size=64,
    num_workers=6,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='ImageFolderDataset', data_root=data_root,
                 split='train', img_size=32))

# transfer to CIFAR-10 (the python batches, cifar-10-batches-py)
probe = dict(
    batch_size=64,
    train=dict(type='CIFAR10Dataset', data_root='data/cifar10',
               split='train'),
    test=dict(type='CIFAR10Dataset', data_root='data/cifar10',
              split='test'))
