from .alignment_stop_hook import AlignmentEarlyStopHook
from .generation_eval_hook import GenerationEvalHook
from .loss_param_hook import LossParamHook
from .random_state_hook import RandomStateHook

__all__ = [
    'AlignmentEarlyStopHook', 'GenerationEvalHook', 'LossParamHook',
    'RandomStateHook'
]
