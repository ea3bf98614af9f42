"""Hooks, loops and optimiser wrappers. Importing this registers them."""
from .hooks import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403
