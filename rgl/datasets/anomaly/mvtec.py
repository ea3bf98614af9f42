import os
import os.path as osp

from rgl.registry import DATASETS
from rgl.utils.errors import ConfigError, DataError
from ..image_folder import IMG_EXTENSIONS
from .base import ANOMALOUS, NORMAL, AnomalyDataset

#: The 15 categories of MVTec AD (textures first, then objects).
MVTEC_CATEGORIES = ('carpet', 'grid', 'leather', 'tile', 'wood', 'bottle',
                    'cable', 'capsule', 'hazelnut', 'metal_nut', 'pill',
                    'screw', 'toothbrush', 'transistor', 'zipper')


def list_image_files(folder):
    return sorted(
        osp.join(folder, f) for f in os.listdir(folder)
        if f.lower().endswith(IMG_EXTENSIONS))


@DATASETS.register_module()
class MVTecADDataset(AnomalyDataset):
    """MVTec AD in its released folder layout::

        data_root/<category>/train/good/000.png
        data_root/<category>/test/good/000.png
        data_root/<category>/test/<defect_type>/000.png
        data_root/<category>/ground_truth/<defect_type>/000_mask.png

    Args:
        data_root (str): the folder that holds the category folders.
        category (str): e.g. ``'bottle'``; also the prompt class name.
        split (str): ``'test'`` (normal and defect images) or ``'train'``
            (normal images only: the few-shot reference pool).
        img_size, transforms: see :class:`AnomalyDataset`.
    """

    def __init__(self, data_root, category, split='test', img_size=None,
                 transforms=None):
        super().__init__(category, img_size, transforms)
        if split not in ('train', 'test'):
            raise ConfigError(f"MVTecADDataset.split must be 'train' or "
                              f"'test', got {split!r}")
        if not category:
            raise ConfigError('MVTecADDataset needs `category` (one of '
                              f'{", ".join(MVTEC_CATEGORIES)})')
        root = osp.join(data_root, category, split)
        if not osp.isdir(root):
            raise DataError(f'MVTec AD folder not found: {root} (data_root='
                            f'{data_root}, category={category})')
        gt_root = osp.join(data_root, category, 'ground_truth')
        for defect in sorted(os.listdir(root)):
            folder = osp.join(root, defect)
            if not osp.isdir(folder):
                continue
            for path in list_image_files(folder):
                label = NORMAL if defect == 'good' else ANOMALOUS
                mask = None
                if label == ANOMALOUS:
                    stem = osp.splitext(osp.basename(path))[0]
                    mask = osp.join(gt_root, defect, f'{stem}_mask.png')
                self.records.append(dict(img_path=path, label=label,
                                         mask_path=mask, defect_type=defect))
        self.check_records(root)
