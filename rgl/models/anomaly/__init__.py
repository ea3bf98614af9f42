"""Zero/few-shot anomaly classification and segmentation (WinCLIP)."""
from .data_preprocessor import AnomalyDataPreprocessor
from .inference_wrapper import InferenceModelWrapper
from .memory_bank import VisualMemoryBank
from .prompts import CompositionalPromptEnsemble
from .window_embedder import WindowEmbedder
from .windows import coverage_matrix, harmonic_aggregation, window_indices
from .winclip import WinCLIP, WinCLIPPlus

__all__ = [
    'AnomalyDataPreprocessor', 'CompositionalPromptEnsemble',
    'InferenceModelWrapper',
    'VisualMemoryBank', 'WindowEmbedder', 'WinCLIP', 'WinCLIPPlus',
    'coverage_matrix', 'harmonic_aggregation', 'window_indices'
]
