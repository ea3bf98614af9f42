from .generation_eval_hook import GenerationEvalHook
from .random_state_hook import RandomStateHook

__all__ = ['GenerationEvalHook', 'RandomStateHook']
