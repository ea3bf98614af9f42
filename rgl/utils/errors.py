"""Exceptions that carry one clear, user-facing message.

Tools print ``str(err)`` of these without a traceback (set ``RGL_DEBUG=1`` to
see it), so every message names the config key, file or argument at fault.
"""


class RglError(Exception):
    """Base class of rgl's user-facing errors."""


class ConfigError(RglError, KeyError):
    """A config is missing a key, or a key holds a value rgl cannot use."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ''


class CheckpointError(RglError, RuntimeError):
    """A checkpoint file is missing, truncated, corrupted or unsafe."""


class DataError(RglError, ValueError):
    """A dataset root, annotation or sample is missing or malformed."""


def require_keys(cfg, keys, where='config'):
    """Raise :class:`ConfigError` naming the first key of ``keys`` absent
    from ``cfg`` (a dict or mmengine ``Config``)."""
    for key in keys:
        node = cfg
        for part in key.split('.'):
            if not hasattr(node, 'get') or node.get(part) is None:
                raise ConfigError(f'{where} has no `{key}`: it is required '
                                  f'here (set it in the file or with '
                                  f'--cfg-options {key}=...)')
            node = node.get(part)
