"""The dataset a certification tool iterates over."""
from rgl.utils.errors import ConfigError, require_keys


def build_dataset(cfg, split):
    """Build ``cfg.test_dataloader.dataset`` with its ``split`` set to
    ``split`` (``--split``). Returns ``(dataset, dataset_cfg)``.

    Raises:
        ConfigError: ``split`` is not ``'test'`` and the dataset config has
            no ``split`` key to set.
    """
    from rgl.registry import DATASETS
    require_keys(cfg, ['test_dataloader.dataset'])
    ds_cfg = dict(cfg.test_dataloader.dataset)
    if 'split' in ds_cfg:
        ds_cfg['split'] = split
    elif split != 'test':
        raise ConfigError(f'--split {split}: test_dataloader.dataset has no '
                          '`split` key to set')
    return DATASETS.build(ds_cfg), ds_cfg
