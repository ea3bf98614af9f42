"""An inference-only copy of a classifier for the millions of forward
passes of certification.

- Folding eval-mode BatchNorm into the preceding convolution removes one
  memory-bound pass per layer.
- Folding the input normalisation ``(x - μ) / s`` into the first
  convolution removes the per-draw normalise (:func:`fold_normalization`).
- Channels-last lets oneDNN (CPU) and cuDNN (GPU) pick their fastest
  convolutions.
- ``torch.compile`` (opt-in, :class:`CompiledClassifier`) lets inductor fuse
  the residual adds and ReLUs into the convolutions.

All of them leave the function unchanged up to float rounding (fp32 stays
fp32), so the smoothed classifier certified is the one trained.
"""
import copy
import warnings

import torch
import torch.nn.functional as F
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
    except Exception as err:  # not traceable: keep the original
        _warn_untraceable('BatchNorm folding', target, err)
        return module
    if target_name is None:
        return fused
    setattr(module, target_name, fused)
    return module


def _warn_untraceable(what, module, err):
    """Once per class: ``what`` is skipped for ``module`` (the result stays
    correct, only slower, and the slowdown would otherwise go unseen)."""
    key = (what, type(module).__name__)
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(f'{what} skipped for {key[1]}: torch.fx cannot trace '
                      f'it ({str(err).splitlines()[0]})')


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


class NormalizedInputConv(nn.Module):
    """``conv((x − μ) / s)`` computed as ``conv'(x)`` plus a border term.

    With ``W'[o, c] = W[o, c] / s_c`` and ``b' = b − Σ_{c,u,v} W'[o, c, u,
    v] μ_c``, ``conv'(x) = conv((x − μ) / s)`` wherever the kernel window
    lies inside the image. Zero padding breaks the identity on the border:
    the original pads the *normalised* input with 0, i.e. the raw input
    with μ. There the difference is the fixed map ``E = Σ W' μ −
    conv_{W'}(pad₀(μ·1))``, which is zero in the interior; :meth:`forward`
    adds it to the border rows and columns only.
    """

    def __init__(self, conv, mean, std):
        super().__init__()
        mean = mean.reshape(-1).to(conv.weight)
        std = std.reshape(-1).to(conv.weight)
        self.conv = copy.deepcopy(conv)
        weight = conv.weight / std[None, :, None, None]
        bias = conv.bias if conv.bias is not None else torch.zeros(
            conv.out_channels, dtype=weight.dtype, device=weight.device)
        inner = (weight * mean[None, :, None, None]).sum((1, 2, 3))
        self.conv.weight = nn.Parameter(weight, requires_grad=False)
        self.conv.bias = nn.Parameter(bias - inner, requires_grad=False)
        self.register_buffer('mean', mean, persistent=False)
        self.register_buffer('inner', inner, persistent=False)
        self._border = {}  # (H, W, dtype, device) -> [(rows, cols, E)]

    def border_terms(self, h, w):
        """``[(rows, cols, E[rows, cols])]`` for an ``h × w`` input: the
        top and bottom bands, then the left and right bands between them."""
        key = (h, w, self.conv.weight.dtype, self.conv.weight.device)
        if key not in self._border:
            c = self.conv
            const = self.mean[None, :, None, None].expand(1, -1, h, w)
            err = self.inner[None, :, None, None] - F.conv2d(
                const, c.weight, None, c.stride, c.padding, c.dilation,
                c.groups)
            rows = _touches_padding(h, err.shape[-2], c, 0)
            cols = _touches_padding(w, err.shape[-1], c, 1)
            oh, ow = err.shape[-2:]
            top, bottom = _run(rows), _run(rows[::-1])
            left, right = _run(cols), _run(cols[::-1])
            if top + bottom < sum(rows) or left + right < sum(cols):
                raise ValueError('padding touches rows/columns inside the '
                                 'image (kernel larger than the input)')
            mid = slice(top, oh - bottom)
            parts = []
            for rs, cs in ((slice(0, top), slice(None)),
                           (slice(oh - bottom, oh), slice(None)),
                           (mid, slice(0, left)),
                           (mid, slice(ow - right, ow))):
                term = err[:, :, rs, cs]
                if term.numel():
                    parts.append((rs, cs, term.contiguous()))
            self._border[key] = parts
        return self._border[key]

    def forward(self, x):
        y = self.conv(x)
        for rows, cols, term in self.border_terms(*x.shape[-2:]):
            y[:, :, rows, cols] += term.to(y.dtype)
        return y


def _touches_padding(size, out_size, conv, dim):
    """Per output position along ``dim``: does the kernel window reach
    outside ``[0, size)``?"""
    k, s = conv.kernel_size[dim], conv.stride[dim]
    p, d = conv.padding[dim], conv.dilation[dim]
    return [i * s - p < 0 or i * s - p + d * (k - 1) >= size
            for i in range(out_size)]


def _run(flags):
    """Length of the leading run of True in ``flags``."""
    n = 0
    while n < len(flags) and flags[n]:
        n += 1
    return n


def fold_normalization(module):
    """Fold an rgl ``ImageClassifier``'s input normalisation into the
    first convolution of its (traced, e.g. BN-folded) backbone.

    Applies when the backbone is a ``torch.fx.GraphModule`` whose input
    feeds exactly one computation, a zero-padded ``nn.Conv2d``; returns the
    module unchanged otherwise (the normalise then stays, which is
    correct, only slower).
    """
    norm = getattr(module, 'normalize', None)
    backbone = getattr(module, 'backbone', None)
    from torch import fx
    if norm is None or not getattr(norm, 'enabled', False) or \
            not isinstance(backbone, fx.GraphModule):
        return module
    inputs = [n for n in backbone.graph.nodes if n.op == 'placeholder']
    if len(inputs) != 1:
        return module
    users = [u for u in inputs[0].users if not _is_check(u)]
    if len(users) != 1 or users[0].op != 'call_module':
        return module
    conv = backbone.get_submodule(users[0].target)
    if not isinstance(conv, nn.Conv2d) or conv.padding_mode != 'zeros' or \
            isinstance(conv.padding, str) or \
            conv.in_channels != norm.mean.numel():
        return module
    folded = NormalizedInputConv(conv, norm.mean, norm.std)
    parent, _, name = users[0].target.rpartition('.')
    setattr(backbone.get_submodule(parent) if parent else backbone, name,
            folded)
    # the backbone's own input check still runs; the classifier's
    # mean-based channel check goes with the normalisation
    module.normalize = type(norm)()
    return module


def _is_check(node):
    """An rgl input check kept opaque in the trace (reads shapes only)."""
    return node.op == 'call_function' and getattr(
        node.target, '__name__', '').startswith('check_')


class CompiledClassifier:
    """``torch.compile`` of an inference copy's ``logits``.

    Inductor's ``freezing`` treats the weights as constants: it pre-packs
    them for oneDNN and fuses each convolution with its bias, ReLU and
    residual add. Shapes are static (``dynamic=False``): callers feed one
    batch size (see ``SmoothedClassifier(micro_batch=...)``), so a run
    compiles once. Compilation costs tens of seconds on a CPU, which a
    certification run amortises over its images. If the first call fails
    (no C++ compiler, an untraceable model), it warns once and runs the
    uncompiled copy.
    """

    def __init__(self, model):
        self.model = model
        self.eager = getattr(model, 'logits', model)
        self._fn = torch.compile(self.eager, dynamic=False,
                                 options=dict(freezing=True))
        self._ok = False

    @property
    def ready(self):
        """Compiled (or given up on compiling): safe to call from several
        threads at once."""
        return self._ok or self._fn is None

    def logits(self, x):
        if self._fn is None:
            return self.eager(x)
        if self._ok:
            return self._fn(x)
        try:
            # one eager call first fills the copy's own caches (e.g. the
            # border terms of NormalizedInputConv) outside the trace
            self.eager(x)
            out = self._fn(x)
        except Exception as err:  # compiler missing, graph break errors
            warnings.warn(f'torch.compile failed for '
                          f'{type(self.model).__name__}; running it '
                          f'uncompiled ({str(err).splitlines()[0]})')
            self._fn = None
            return self.eager(x)
        self._ok = True
        return out

    __call__ = logits


class InferenceCache:
    """Holds the folded (and optionally compiled) copy of a classifier
    while its weights are unchanged."""

    def __init__(self):
        self._key, self._model = None, None

    def get(self, classifier, fold_bn=True, channels_last=False,
            fold_normalize=False, compile=False):
        if classifier.training:  # train-mode BN cannot be folded
            return classifier
        key = (state_version(classifier), fold_bn, channels_last,
               fold_normalize, compile)
        if key == self._key:
            return self._model
        model = classifier
        # outside inference mode: the classifier's own parameters must not
        # become inference tensors (they could not be trained afterwards)
        with torch.inference_mode(False), torch.no_grad():
            if fold_bn and _has_batchnorm(classifier):
                model = fold_batchnorm(copy.deepcopy(classifier).eval())
            if fold_normalize and getattr(getattr(
                    classifier, 'normalize', None), 'enabled', False):
                if model is classifier:
                    model = copy.deepcopy(classifier).eval()
                    if isinstance(getattr(model, 'backbone', None),
                                  nn.Module) and not isinstance(
                                      model.backbone, torch.fx.GraphModule):
                        try:
                            model.backbone = _trace(model.backbone)
                        except Exception as err:  # keep it, unfolded
                            _warn_untraceable('normalisation folding',
                                              model.backbone, err)
                model = fold_normalization(model)
            if channels_last:
                model = model.to(memory_format=torch.channels_last)
            if compile:
                model = CompiledClassifier(model)
        self._key, self._model = key, model
        return model
