# WinCLIP+, 4-normal-shot, on MVTec AD. The 4 reference images are drawn
# from the category's train/good folder by a generator seeded with
# reference.seed (the paper averages several draws: run seeds 0, 1, 2).
# When you move the data, set data_root here (or override both
# test_dataloader.dataset.data_root and model.reference.dataset.data_root).
_base_ = ['./winclip_vit-b-16-plus-240_zero-shot_mvtec.py']

model = dict(
    type='WinCLIPPlus',
    k_shot=4,
    reference=dict(
        # category is taken from the test samples
        dataset=dict(type='MVTecADDataset', data_root={{_base_.data_root}},
                     split='train'),
        seed=0))
