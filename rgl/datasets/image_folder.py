import os
import os.path as osp

from PIL import Image
from torchvision.transforms.v2 import functional as TF

from rgl.registry import DATASETS
from rgl.utils.errors import DataError
from .base import LabeledImageDataset

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif',
                  '.tiff', '.webp')


def check_root(path, key='data_root'):
    if not osp.isdir(path):
        raise DataError(f'{key} does not exist or is not a folder: {path}')


def center_crop_resize(img, size):
    """ADM's preprocessing: resize the short side to ``size`` (bicubic,
    antialiased) and crop the centre ``size x size``."""
    img = TF.resize(img, size, interpolation=TF.InterpolationMode.BICUBIC,
                    antialias=True)
    return TF.center_crop(img, [size, size])


@DATASETS.register_module()
class ImageFolderDataset(LabeledImageDataset):
    """``root/<class>/<image>`` trees (ImageNet's layout).

    Classes are the sorted sub-folder names. A root with images and no
    sub-folders is read as one unlabeled class (label 0).

    Args:
        data_root (str): the folder.
        split (str, optional): a sub-folder of ``data_root`` to read, e.g.
            ``'train'`` or ``'val'`` in ImageNet's layout.
        img_size (int, optional): centre-crop and resize to this side.
        classes (Sequence[str], optional): a subset / order of class folders.
        transforms (list[dict], optional): tensor transforms.
    """

    def __init__(self, data_root, split=None, img_size=None, classes=None,
                 transforms=None):
        super().__init__(transforms)
        check_root(data_root)
        if split is not None:
            data_root = osp.join(data_root, split)
            check_root(data_root, key=f'data_root/{split}')
        self.data_root, self.img_size = data_root, img_size
        subdirs = sorted(d.name for d in os.scandir(data_root) if d.is_dir())
        self.classes = tuple(classes or subdirs or ('image', ))
        self.samples = []
        if subdirs or classes:
            for label, name in enumerate(self.classes):
                folder = osp.join(data_root, name)
                check_root(folder, key=f'class folder of `{name}`')
                self.samples += [(p, label) for p in _list_images(folder)]
        else:
            self.samples = [(p, 0) for p in _list_images(data_root)]
        if not self.samples:
            raise DataError(f'no images ({", ".join(IMG_EXTENSIONS)}) under '
                            f'data_root {data_root}')

    def __len__(self):
        return len(self.samples)

    def load_image(self, idx):
        path = self.samples[idx][0]
        try:
            with Image.open(path) as im:
                img = TF.pil_to_tensor(im.convert('RGB'))
        except OSError as err:
            raise DataError(f'cannot read image {path}: {err}') from None
        if self.img_size is not None:
            img = center_crop_resize(img, self.img_size)
        return img

    def get_label(self, idx):
        return self.samples[idx][1]


def _list_images(folder):
    found = []
    for dirpath, _, files in sorted(os.walk(folder, followlinks=True)):
        found += [
            osp.join(dirpath, f) for f in sorted(files)
            if f.lower().endswith(IMG_EXTENSIONS)
        ]
    return found


def list_images(folder):
    """Sorted paths of all images below ``folder`` (recursive)."""
    check_root(folder)
    return _list_images(folder)
