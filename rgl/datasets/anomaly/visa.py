import csv
import os.path as osp

from rgl.registry import DATASETS
from rgl.utils.errors import ConfigError, DataError
from .base import ANOMALOUS, NORMAL, AnomalyDataset

#: The 12 categories of VisA.
VISA_CATEGORIES = ('candle', 'capsules', 'cashew', 'chewinggum', 'fryum',
                   'macaroni1', 'macaroni2', 'pcb1', 'pcb2', 'pcb3', 'pcb4',
                   'pipe_fryum')

_COLUMNS = ('object', 'split', 'label', 'image', 'mask')


@DATASETS.register_module()
class VisADataset(AnomalyDataset):
    """VisA with its split CSV (``split_csv/1cls.csv`` in the release).

    The CSV has the columns ``object,split,label,image,mask``; ``label`` is
    ``normal`` or ``anomaly`` and the paths are relative to ``data_root``.
    Mask pixels hold a region index; any non-zero pixel is a defect.

    Args:
        data_root (str): the VisA folder (holds ``candle/``, ``split_csv/``).
        category (str): e.g. ``'candle'``.
        split (str): ``'test'`` or ``'train'`` (normal images only).
        split_csv (str): the CSV, relative to ``data_root`` or absolute.
        img_size, transforms: see :class:`AnomalyDataset`.
    """

    def __init__(self, data_root, category, split='test',
                 split_csv='split_csv/1cls.csv', img_size=None,
                 transforms=None):
        super().__init__(category, img_size, transforms)
        if split not in ('train', 'test'):
            raise ConfigError(f"VisADataset.split must be 'train' or 'test', "
                              f'got {split!r}')
        csv_path = split_csv if osp.isabs(split_csv) else \
            osp.join(data_root, split_csv)
        if not osp.isfile(csv_path):
            raise DataError(f'VisA split CSV not found: {csv_path}')
        with open(csv_path, newline='') as f:
            reader = csv.DictReader(f)
            missing = set(_COLUMNS) - set(reader.fieldnames or ())
            if missing:
                raise DataError(f'{csv_path} lacks the columns '
                                f'{sorted(missing)} (expected {_COLUMNS})')
            rows = [r for r in reader
                    if r['object'] == category and r['split'] == split]
        for row in rows:
            if row['label'] not in ('normal', 'anomaly'):
                raise DataError(f'{csv_path}: label must be normal or '
                                f'anomaly, got {row["label"]!r} for '
                                f'{row["image"]}')
            anomalous = row['label'] == 'anomaly'
            self.records.append(dict(
                img_path=osp.join(data_root, row['image']),
                label=ANOMALOUS if anomalous else NORMAL,
                mask_path=(osp.join(data_root, row['mask'])
                           if anomalous and row['mask'] else None),
                defect_type='anomaly' if anomalous else 'good'))
        self.check_records(f'category {category!r}, split {split!r} in '
                           f'{csv_path}')
