from .autocast_optim_wrapper import AutocastOptimWrapper
from .compile import CompileHook, compile_options, compile_train_modules

__all__ = [
    'AutocastOptimWrapper', 'CompileHook', 'compile_options',
    'compile_train_modules'
]
