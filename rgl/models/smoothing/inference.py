"""An inference-only copy of a classifier for the millions of forward
passes of certification.

Folding eval-mode BatchNorm into the preceding convolution removes one
memory-bound pass per layer, and channels-last lets oneDNN (CPU) and
cuDNN (GPU) pick their fastest convolutions. Both leave the function
unchanged up to float rounding, so the smoothed classifier certified is the
one trained.
"""
import copy
import warnings

import torch
from torch import nn

#: classes already warned about (one warning each)
_WARNED = set()


def _has_batchnorm(module):
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm)
               for m in module.modules())


def fold_batchnorm(module):
    """Return ``module`` with every ``Conv → BatchNorm`` pair of its
    ``backbone`` (or of itself) folded, when torch.fx can trace it; the
    module unchanged otherwise (e.g. data-dependent control flow)."""
    from torch.fx.experimental.optimization import fuse
    target_name = 'backbone' if isinstance(
        getattr(module, 'backbone', None), nn.Module) else None
    target = getattr(module, target_name) if target_name else module
    try:
        fused = fuse(_trace(target), no_trace=True)
    except Exception as err:  # not traceable: keep the original (correct,
        # but slower: say so once per class, or the slowdown goes unseen)
        name = type(target).__name__
        if name not in _WARNED:
            _WARNED.add(name)
            warnings.warn(f'BatchNorm folding skipped for {name}: torch.fx '
                          f'cannot trace it ({str(err).splitlines()[0]})')
        return module
    if target_name is None:
        return fused
    setattr(module, target_name, fused)
    return module


def _trace(module):
    """``torch.fx`` graph of ``module``, with rgl's input checks kept as
    opaque calls: they read concrete shapes, which a symbolic trace does not
    have."""
    from torch import fx

    from rgl.utils import shapes
    checks = tuple(getattr(shapes, name) for name in ('check_input_shape', )
                   if hasattr(shapes, name))
    tracer = fx.Tracer(autowrap_functions=checks)
    graph = tracer.trace(module)
    return fx.GraphModule(tracer.root, graph, type(module).__name__)


def state_version(module):
    """Changes whenever a parameter or buffer is modified in place
    (optimiser steps, ``load_state_dict``), replaced or moved."""
    return tuple((t.data_ptr(), _version(t), t.device, t.dtype) for t in
                 list(module.parameters()) + list(module.buffers()))


def _version(t):
    try:
        return t._version
    except RuntimeError:  # inference tensors cannot change in place
        return -1


class InferenceCache:
    """Holds the folded copy of a classifier while its weights are
    unchanged."""

    def __init__(self):
        self._key, self._model = None, None

    def get(self, classifier, fold_bn=True, channels_last=False):
        if classifier.training:  # train-mode BN cannot be folded
            return classifier
        key = (state_version(classifier), fold_bn, channels_last)
        if key == self._key:
            return self._model
        model = classifier
        # outside inference mode: the classifier's own parameters must not
        # become inference tensors (they could not be trained afterwards)
        with torch.inference_mode(False), torch.no_grad():
            if fold_bn and _has_batchnorm(classifier):
                model = fold_batchnorm(copy.deepcopy(classifier).eval())
            if channels_last:
                model = model.to(memory_format=torch.channels_last)
        self._key, self._model = key, model
        return model
