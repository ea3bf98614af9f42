import os
import os.path as osp

from rgl.registry import DATASETS
from rgl.utils.errors import ConfigError, DataError
from ..image_folder import IMG_EXTENSIONS
from .base import ANOMALOUS, NORMAL, AnomalyDataset
from .mvtec import list_image_files


@DATASETS.register_module()
class AnomalyFolderDataset(AnomalyDataset):
    """A user's own data::

        data_root/good/*.png            normal test images
        data_root/defect/*.png          anomalous test images
        data_root/masks/<stem>.png      their masks (or <stem>_mask.png)
        data_root/train/*.png           normal reference images (few-shot)

    ``abnormal_dir`` may list several folders (``['scratch', 'dent']``);
    masks are then looked up in ``masks/<folder>/`` first, then ``masks/``.

    Args:
        data_root (str): the folder.
        category (str, optional): the object class used by the prompts;
            without it WinCLIP uses "object" and warns.
        split (str): ``'test'`` or ``'train'``.
        normal_dir, abnormal_dir, mask_dir, train_dir (str): sub-folders.
        img_size, transforms: see :class:`AnomalyDataset`.
    """

    def __init__(self, data_root, category=None, split='test',
                 normal_dir='good', abnormal_dir='defect', mask_dir='masks',
                 train_dir='train', img_size=None, transforms=None):
        super().__init__(category, img_size, transforms)
        if split not in ('train', 'test'):
            raise ConfigError(f"AnomalyFolderDataset.split must be 'train' "
                              f"or 'test', got {split!r}")
        if not osp.isdir(data_root):
            raise DataError(f'data_root does not exist: {data_root}')
        if split == 'train':
            self._add(osp.join(data_root, train_dir), NORMAL, 'good', None)
        else:
            self._add(osp.join(data_root, normal_dir), NORMAL, 'good', None)
            dirs = [abnormal_dir] if isinstance(abnormal_dir, str) \
                else list(abnormal_dir)
            for name in dirs:
                self._add(osp.join(data_root, name), ANOMALOUS, name,
                          osp.join(data_root, mask_dir))
        self.check_records(f'{data_root} (split {split!r})')

    def _add(self, folder, label, defect_type, mask_root):
        if not osp.isdir(folder):
            raise DataError(f'folder not found: {folder}')
        for path in list_image_files(folder):
            mask = None
            if mask_root is not None:
                mask = _find_mask(mask_root, defect_type, path)
            self.records.append(dict(img_path=path, label=label,
                                     mask_path=mask,
                                     defect_type=defect_type))


def _find_mask(mask_root, defect_type, img_path):
    """First existing ``<stem>{,_mask}.<ext>`` in ``masks/<defect_type>/``
    or ``masks/``; else the expected ``masks/<stem>.png`` (reported
    missing by :meth:`AnomalyDataset.check_records`)."""
    stem = osp.splitext(osp.basename(img_path))[0]
    for folder in (osp.join(mask_root, defect_type), mask_root):
        if not osp.isdir(folder):
            continue
        names = set(os.listdir(folder))
        for suffix in ('', '_mask'):
            for ext in IMG_EXTENSIONS:
                if stem + suffix + ext in names:
                    return osp.join(folder, stem + suffix + ext)
    return osp.join(mask_root, stem + '.png')
