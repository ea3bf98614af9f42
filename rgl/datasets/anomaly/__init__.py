"""Anomaly detection datasets: MVTec AD, VisA and a generic folder."""
from .base import AnomalyDataset
from .few_shot import select_few_shot
from .folder import AnomalyFolderDataset
from .mvtec import MVTEC_CATEGORIES, MVTecADDataset
from .visa import VISA_CATEGORIES, VisADataset

__all__ = [
    'AnomalyDataset', 'AnomalyFolderDataset', 'MVTecADDataset',
    'VisADataset', 'MVTEC_CATEGORIES', 'VISA_CATEGORIES', 'select_few_shot'
]
