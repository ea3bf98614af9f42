"""rgl: representation alignment, certified robustness and diffusion priors
as registered mmengine components.

``import rgl`` is cheap: subpackages load lazily when a registry first looks up
a ``type``. Importing it makes checkpoints saved by mmengine loadable under
torch's ``weights_only`` unpickler (see :mod:`rgl.utils.checkpoint`) in the
whole process; rgl's own loaders register that allow-list themselves, so
they work even when this file never ran (e.g. a script next to a folder
named ``rgl``).
"""
from .utils.assets import register_config_package
from .utils.checkpoint import register_safe_globals
from .version import __version__, version_info

register_safe_globals()
register_config_package()  # `_base_ = 'rgl::...'` in any process

__all__ = ['__version__', 'version_info']
