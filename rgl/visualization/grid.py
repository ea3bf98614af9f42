"""One picture of generated samples: a column per class, its name on top.

Shared by ``GenerationEvalHook`` (grids during training) and
``tools/sample.py`` (``grid.png`` of a sample run), so both read alike.
"""
import numpy as np
import torch

#: images smaller than this (e.g. 16x16 digits) are enlarged by an integer
#: factor so that a class label fits above their column
MIN_CELL = 32


def per_class_indices(labels, per_class, max_classes=None):
    """Indices of the first ``per_class`` samples of each class, grouped
    class by class (classes in order of first appearance, at most
    ``max_classes``)."""
    labels = [int(v) for v in labels]
    order, picked = [], {}
    for i, y in enumerate(labels):
        if y not in picked:
            if max_classes is not None and len(order) >= max_classes:
                continue
            order.append(y)
            picked[y] = []
        if len(picked[y]) < per_class:
            picked[y].append(i)
    return [i for y in order for i in picked[y]]


def _as_nchw_float(images):
    """float (N, C, H, W) in [0, 1], or uint8 (N, H, W, C) as saved in an
    ADM .npz → float (N, 3, H, W)."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(images)
    if images.dtype == torch.uint8:
        images = images.permute(0, 3, 1, 2).float() / 255
    images = images.detach().float().cpu().clamp(0, 1)
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    return images


def _font(size):
    from PIL import ImageFont
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size
        return ImageFont.load_default()


def draw_sample_grid(images, labels=None, class_names=None, padding=2,
                     min_cell=MIN_CELL):
    """A PIL image of ``images`` (float (N, C, H, W) in [0, 1] or uint8
    (N, H, W, C)).

    With ``labels`` (class-conditional samples) every class gets one column,
    in order of first appearance, headed by its name
    (``class_names[label]`` or the label); samples fill the column top down.
    Without labels the images fill a near-square grid.
    """
    from PIL import Image, ImageDraw
    x = _as_nchw_float(images)
    n, _, h, w = x.shape
    scale = max(1, -(-min_cell // min(h, w)))
    if scale > 1:  # nearest: keep the pixels of tiny samples visible
        x = x.repeat_interleave(scale, 2).repeat_interleave(scale, 3)
        h, w = h * scale, w * scale
    if labels is None:
        cols = max(1, int(np.ceil(np.sqrt(n))))
        columns = [list(range(i, min(i + cols, n)))
                   for i in range(0, n, cols)]
        columns = [[row[c] for row in columns if c < len(row)]
                   for c in range(cols)]
        heads = None
    else:
        labels = [int(v) for v in labels]
        if len(labels) != n:
            raise ValueError(f'{len(labels)} labels for {n} images')
        heads, columns = [], {}
        for i, y in enumerate(labels):
            if y not in columns:
                heads.append(y)
                columns[y] = []
            columns[y].append(i)
        columns = [columns[y] for y in heads]
    rows = max(len(c) for c in columns)
    font = _font(max(10, min(16, w // 3)))
    head_h = 0
    if heads is not None:
        head_h = font.getbbox('Ag0')[3] + 2 * padding
    width = len(columns) * (w + padding) + padding
    height = head_h + rows * (h + padding) + padding
    canvas = Image.new('RGB', (width, height), (255, 255, 255))
    pixels = (x.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
    draw = ImageDraw.Draw(canvas)
    for c, column in enumerate(columns):
        left = padding + c * (w + padding)
        if heads is not None:
            y = heads[c]
            name = str(class_names[y]) if class_names is not None and \
                0 <= y < len(class_names) else str(y)
            while len(name) > 1 and draw.textlength(name, font=font) > w:
                name = name[:-1]  # long names (ImageNet) are cut to fit
            text_w = draw.textlength(name, font=font)
            draw.text((left + (w - text_w) / 2, padding), name,
                      fill=(0, 0, 0), font=font)
        for r, i in enumerate(column):
            top = head_h + padding + r * (h + padding)
            canvas.paste(Image.fromarray(pixels[i]), (left, top))
    return canvas


def save_sample_grid(path, images, labels=None, class_names=None,
                     **kwargs):
    """Write :func:`draw_sample_grid` to ``path`` (PNG)."""
    draw_sample_grid(images, labels, class_names, **kwargs).save(path)
    return path


#: at most this many class columns in a grid of a many-class model
MAX_COLUMNS = 16


def grid_selection(labels, grid_size, num_classes):
    """``(indices, labels or None)`` of the samples a grid of about
    ``grid_size`` images shows: for a class-conditional model
    (``num_classes`` > 1) the first samples of each class, one column per
    class (at most :data:`MAX_COLUMNS` classes); otherwise the first
    ``grid_size`` samples."""
    labels = [int(v) for v in labels]
    if num_classes is None or num_classes < 2:
        return list(range(min(grid_size, len(labels)))), None
    columns = min(len(set(labels)), MAX_COLUMNS)
    idx = per_class_indices(labels, max(1, grid_size // max(columns, 1)),
                            max_classes=columns)
    return idx, [labels[i] for i in idx]


def dataset_class_names(dataset_cfg):
    """The class names a dataset type declares as a class attribute
    (``DigitsDataset.classes``), without building the dataset; ``None``
    when it has none."""
    from rgl.registry import DATASETS
    try:
        cls = DATASETS.get(dataset_cfg['type'])
    except (KeyError, TypeError):
        return None
    names = getattr(cls, 'classes', None)
    return list(names) if isinstance(names, (list, tuple)) and names \
        else None
