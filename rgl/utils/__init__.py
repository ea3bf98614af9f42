from .checkpoint import (load_checkpoint_file, load_state_dict_file,
                         register_safe_globals, safe_globals)
from .errors import (CheckpointError, ConfigError, DataError, RglError,
                     require_keys)

__all__ = [
    'load_checkpoint_file', 'load_state_dict_file', 'register_safe_globals',
    'safe_globals', 'CheckpointError', 'ConfigError', 'DataError',
    'RglError', 'require_keys'
]
