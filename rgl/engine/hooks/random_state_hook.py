import random

import numpy as np
import torch
from mmengine.hooks import Hook

from rgl.registry import HOOKS


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save the python, numpy and torch RNG states in every checkpoint and
    restore them on ``--resume``.

    mmengine restores the seed but not the generators' positions, so noise
    draws (smoothing, flow-matching times, augmentations) after a resume would
    differ from an uninterrupted run. With this hook they are the same.
    The states are plain tensors, tuples and ints: loadable with
    ``weights_only=True``.
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint):
        np_state = np.random.get_state()
        checkpoint['rng_state'] = dict(
            python=random.getstate(),
            numpy=(np_state[0], torch.from_numpy(np_state[1].copy()),
                   *np_state[2:]),
            torch=torch.get_rng_state(),
            cuda=(torch.cuda.get_rng_state_all()
                  if torch.cuda.is_available() else []))

    def after_load_checkpoint(self, runner, checkpoint):
        state = checkpoint.get('rng_state')
        if not state or not runner._resume:  # plain load_from: keep seed
            return
        random.setstate(_as_tuples(state['python']))
        np_state = state['numpy']
        np.random.set_state((np_state[0], np_state[1].numpy(),
                             *np_state[2:]))
        torch.set_rng_state(state['torch'])
        if state['cuda'] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])


def _as_tuples(obj):
    if isinstance(obj, (list, tuple)):
        return tuple(_as_tuples(x) for x in obj)
    return obj
