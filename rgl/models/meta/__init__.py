"""MetaMAE: modality-agnostic tokenisers and the meta-learned masked
auto-encoder."""
from .contrastive import Projector, nt_xent
from .data_preprocessor import ModalityDataPreprocessor
from .masking import nearby_mask, random_masking, support_mask
from .metamae import ARCH_SETTINGS, MetaMAE
from .tokenizers import (ImagePatchTokenizer, SequencePatchTokenizer,
                         TabularTokenizer, TokenIdTokenizer)

__all__ = [
    'MetaMAE', 'ARCH_SETTINGS', 'ImagePatchTokenizer',
    'SequencePatchTokenizer', 'TabularTokenizer', 'TokenIdTokenizer',
    'ModalityDataPreprocessor', 'Projector', 'nt_xent', 'random_masking',
    'nearby_mask', 'support_mask'
]
