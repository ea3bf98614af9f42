# WinCLIP+, 4-normal-shot, on VisA. The 4 reference images are drawn
# from the category's train split of the CSV with reference.seed.
_base_ = ['./winclip_vit-b-16-plus-240_zero-shot_visa.py']

model = dict(
    type='WinCLIPPlus',
    k_shot=4,
    reference=dict(
        dataset=dict(type='VisADataset', data_root={{_base_.data_root}},
                     split='train', split_csv='split_csv/1cls.csv'),
        seed=0))
