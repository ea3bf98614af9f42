import os
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REPO_ROOT
from rgl.registry import DATASETS
from rgl.utils.errors import DataError

sys.path.insert(0, osp.join(REPO_ROOT, 'tests/test_models/test_anomaly'))
from winclip_helpers import make_mvtec  # noqa: E402


def _png(path, size, value=128, mode='RGB'):
    os.makedirs(osp.dirname(path), exist_ok=True)
    shape = (*size, 3) if mode == 'RGB' else size
    Image.fromarray(np.full(shape, value, np.uint8)).save(path)


def test_mvtec_layout(tmp_path):
    root = make_mvtec(str(tmp_path), 'metal_nut', size=(40, 60), n_train=3,
                      n_good=2, n_defect=3)
    test = DATASETS.build(dict(type='MVTecADDataset', data_root=root,
                               category='metal_nut'))
    assert len(test) == 5
    assert [r['label'] for r in test.records] == [0, 0, 1, 1, 1]
    item = test[4]
    img, ds = item['inputs'], item['data_samples']
    assert img.shape == (3, 40, 60) and 0 <= img.min() <= img.max() <= 1
    assert ds.gt_mask.shape == (40, 60) and ds.gt_mask.max() == 1
    assert ds.metainfo['category'] == 'metal_nut'
    assert ds.metainfo['ori_shape'] == (40, 60)
    assert int(ds.gt_label) == 1
    assert test[0]['data_samples'].gt_mask.sum() == 0
    # resized inputs batch together; masks keep the original size
    small = DATASETS.build(dict(type='MVTecADDataset', data_root=root,
                                category='metal_nut', img_size=32))
    assert small[4]['inputs'].shape == (3, 32, 32)
    assert small[4]['data_samples'].gt_mask.shape == (40, 60)
    train = DATASETS.build(dict(type='MVTecADDataset', data_root=root,
                                category='metal_nut', split='train'))
    assert len(train) == 3 and train.normal_indices() == [0, 1, 2]


def test_missing_and_mis_sized_masks_name_the_file(tmp_path):
    root = make_mvtec(str(tmp_path), 'cable', n_defect=2)
    gt = osp.join(root, 'cable/ground_truth/scratch')
    os.remove(osp.join(gt, '001_mask.png'))
    with pytest.raises(DataError, match='001.png has no mask'):
        DATASETS.build(dict(type='MVTecADDataset', data_root=root,
                            category='cable'))
    _png(osp.join(gt, '001_mask.png'), (10, 10), 255, 'L')
    with pytest.raises(DataError, match='001_mask.png is 10x10'):
        DATASETS.build(dict(type='MVTecADDataset', data_root=root,
                            category='cable'))
    with pytest.raises(DataError, match='not found'):
        DATASETS.build(dict(type='MVTecADDataset', data_root=root,
                            category='screw'))


def test_visa_split_csv(tmp_path):
    root = str(tmp_path)
    _png(f'{root}/candle/Data/Images/Normal/0000.JPG', (20, 30))
    _png(f'{root}/candle/Data/Images/Normal/0001.JPG', (20, 30))
    _png(f'{root}/candle/Data/Images/Anomaly/0002.JPG', (20, 30))
    # VisA masks hold region indices (1, 2, ...), not 255
    _png(f'{root}/candle/Data/Masks/Anomaly/0002.png', (20, 30), 2, 'L')
    os.makedirs(f'{root}/split_csv')
    with open(f'{root}/split_csv/1cls.csv', 'w') as f:
        f.write('object,split,label,image,mask\n'
                'candle,train,normal,candle/Data/Images/Normal/0000.JPG,\n'
                'candle,test,normal,candle/Data/Images/Normal/0001.JPG,\n'
                'candle,test,anomaly,candle/Data/Images/Anomaly/0002.JPG,'
                'candle/Data/Masks/Anomaly/0002.png\n'
                'pcb1,test,normal,pcb1/x.JPG,\n')
    test = DATASETS.build(dict(type='VisADataset', data_root=root,
                               category='candle'))
    assert len(test) == 2 and [r['label'] for r in test.records] == [0, 1]
    mask = test[1]['data_samples'].gt_mask
    assert mask.shape == (20, 30) and set(mask.unique().tolist()) == {1}
    train = DATASETS.build(dict(type='VisADataset', data_root=root,
                                category='candle', split='train'))
    assert len(train) == 1
    with pytest.raises(DataError, match='split CSV not found'):
        DATASETS.build(dict(type='VisADataset', data_root=root,
                            category='candle', split_csv='nope.csv'))


def test_generic_folder(tmp_path):
    root = str(tmp_path)
    _png(f'{root}/good/a.png', (16, 16))
    _png(f'{root}/defect/b.png', (16, 16))
    _png(f'{root}/masks/b_mask.png', (16, 16), 255, 'L')
    _png(f'{root}/train/c.png', (16, 16))
    ds = DATASETS.build(dict(type='AnomalyFolderDataset', data_root=root))
    assert [r['label'] for r in ds.records] == [0, 1]
    assert ds.records[1]['mask_path'].endswith('masks/b_mask.png')
    assert ds[1]['data_samples'].metainfo['category'] is None
    train = DATASETS.build(dict(type='AnomalyFolderDataset', data_root=root,
                                split='train'))
    assert len(train) == 1
    _png(f'{root}/defect/d.png', (16, 16))
    with pytest.raises(DataError, match='d.png has no mask'):
        DATASETS.build(dict(type='AnomalyFolderDataset', data_root=root))


def test_few_shot_selection_is_seeded(tmp_path):
    from rgl.datasets.anomaly import select_few_shot
    root = make_mvtec(str(tmp_path), 'grid', size=(8, 8), n_train=10,
                      n_good=1, n_defect=1)
    train = DATASETS.build(dict(type='MVTecADDataset', data_root=root,
                                category='grid', split='train'))
    a = select_few_shot(train, 4, seed=0)
    assert a == select_few_shot(train, 4, seed=0) and len(set(a)) == 4
    assert a != select_few_shot(train, 4, seed=1)
    rng = np.random.default_rng(0)
    assert a == sorted(rng.choice(10, 4, replace=False).tolist())
    with pytest.raises(DataError, match='k_shot=11 needs 11 normal'):
        select_few_shot(train, 11)
    test = DATASETS.build(dict(type='MVTecADDataset', data_root=root,
                               category='grid'))
    assert select_few_shot(test, 1) == [0]  # only normal images
    assert torch.is_tensor(train[a[0]]['inputs'])
