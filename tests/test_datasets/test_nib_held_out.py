import pytest

from rgl.datasets import HeldOutClassDataset
from rgl.registry import DATASETS
from rgl.utils.errors import ConfigError


def test_held_out_class_dataset_relabels_known_classes():
    known = HeldOutClassDataset(dict(type='DigitsDataset', split='test'),
                                held_out=(3, ))
    novel = HeldOutClassDataset(dict(type='DigitsDataset', split='test'),
                                held_out=(3, ), keep='novel')
    assert len(known) + len(novel) == 360
    assert known.metainfo['classes'] == ('0', '1', '2', '4', '5', '6', '7',
                                         '8', '9')
    labels = {int(known[i]['data_samples'].gt_label) for i in
              range(len(known))}
    assert labels == set(range(9))
    assert {int(novel[i]['data_samples'].gt_label) for i in
            range(len(novel))} == {3}
    with pytest.raises(ConfigError, match='held_out'):
        HeldOutClassDataset(dict(type='DigitsDataset'), held_out=(10, ))
    with pytest.raises(ConfigError, match='keep'):
        HeldOutClassDataset(dict(type='DigitsDataset'), held_out=(1, ),
                            keep='both')


def test_held_out_is_registered_with_the_datasets():
    import rgl.datasets.held_out as module
    assert DATASETS.get('HeldOutClassDataset') is HeldOutClassDataset
    assert module.HeldOutClassDataset is HeldOutClassDataset
