import numpy as np

from rgl.utils.errors import DataError


def select_few_shot(dataset, k_shot, seed=0):
    """Indices of ``k_shot`` normal images of ``dataset``, drawn without
    replacement by a generator seeded with ``seed``, so every run and every
    rank uses the same reference images (the memory bank of WinCLIP+).

    Raises:
        DataError: the dataset has fewer than ``k_shot`` normal images.
    """
    pool = dataset.normal_indices()
    if len(pool) < k_shot:
        raise DataError(
            f'k_shot={k_shot} needs {k_shot} normal reference images but '
            f'{type(dataset).__name__} (category '
            f'{getattr(dataset, "category", None)!r}) has {len(pool)}')
    rng = np.random.default_rng(seed)
    return sorted(int(pool[i])
                  for i in rng.choice(len(pool), k_shot, replace=False))
