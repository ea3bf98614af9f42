import os.path as osp

import numpy as np
import torch

from rgl.registry import DATASETS
from rgl.utils.errors import DataError


@DATASETS.register_module()
class SmoothedPredictionDataset:
    """Attach precomputed smoothed predictions ``p̂`` to another dataset.

    CAT-RS (Jeong et al. 2023) takes each training sample's confidence from
    the smoothed prediction of a Gaussian model, computed once over the train
    set (``tools/smooth_predictions.py``). Every sample's ``DataSample`` gets
    the field ``smoothed_pred`` (a ``(K,)`` float tensor), which
    ``ImageClassifier(loss_fields=('smoothed_pred',))`` hands to the
    objective.

    Args:
        dataset (dict): the wrapped dataset (same split and order as the
            predictions were computed on).
        predictions (str): a ``.npy`` file of shape ``(len(dataset), K)``,
            loaded without pickle.
    """

    def __init__(self, dataset, predictions):
        self.dataset = DATASETS.build(dataset) if isinstance(dataset,
                                                             dict) else dataset
        if not osp.isfile(predictions):
            raise DataError(f'predictions file not found: {predictions}')
        try:
            preds = np.load(predictions, allow_pickle=False)
        except (ValueError, OSError) as err:
            raise DataError(f'cannot read {predictions}: {err}') from None
        if preds.ndim != 2 or len(preds) != len(self.dataset):
            raise DataError(
                f'{predictions} holds predictions of shape {preds.shape}; '
                f'expected ({len(self.dataset)}, num_classes) for the '
                'wrapped dataset')
        self.predictions = torch.from_numpy(preds.astype(np.float32))

    @property
    def metainfo(self):
        return getattr(self.dataset, 'metainfo', {})

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, idx):
        item = self.dataset[idx]
        item['data_samples'].set_field(self.predictions[idx],
                                       'smoothed_pred')
        return item
