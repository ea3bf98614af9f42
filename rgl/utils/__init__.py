from .checkpoint import (StrictLoadHook, check_state_dict,
                         load_checkpoint_file, load_model_weights,
                         load_state_dict_file, register_safe_globals,
                         safe_globals, state_dict_of)
from .errors import (CheckpointError, ConfigError, DataError, RglError,
                     require_keys)
from .run_identity import RunIdentity, claim_output

__all__ = [
    'load_checkpoint_file', 'load_state_dict_file', 'load_model_weights',
    'check_state_dict', 'state_dict_of', 'StrictLoadHook',
    'register_safe_globals', 'safe_globals', 'RunIdentity', 'claim_output',
    'CheckpointError', 'ConfigError', 'DataError', 'RglError',
    'require_keys'
]
