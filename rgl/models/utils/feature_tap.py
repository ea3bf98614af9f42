"""Feature taps: the hidden state of any named submodule of any network.

A tap is how families meet without knowing each other's classes. A REPA
aligner reads ``blocks.7`` of a SiT, a ViT from timm or a ResNet stage from
mmpretrain alike; the backbone needs no special method.
"""
import torch
from torch import nn

from rgl.utils.errors import ConfigError


def resolve_layer(model, name):
    """Return ``model``'s submodule ``name`` (dotted path, e.g.
    ``'blocks.7'``), with an error that lists what exists."""
    try:
        return model.get_submodule(name)
    except AttributeError:
        children = [n for n, _ in model.named_children()]
        raise ConfigError(
            f'feature tap `{name}` does not exist in '
            f'{type(model).__name__}; its top-level children are '
            f'{children}') from None


class FeatureTap:
    """Record the output of ``model.<name>`` at every forward pass.

    Args:
        model (nn.Module): the network to observe; it is not modified other
            than by a forward hook, removed by :meth:`remove`.
        name (str): dotted path of the layer, e.g. ``'blocks.7'``.

    The stored tensor keeps its graph, so a loss on it back-propagates into
    the network. Tuple outputs keep their first element.
    """

    def __init__(self, model: nn.Module, name: str):
        self.name = name
        self.output = None
        layer = resolve_layer(model, name)
        self._handle = layer.register_forward_hook(self._hook)

    def _hook(self, module, args, output):
        if isinstance(output, (tuple, list)):
            output = output[0]
        self.output = output

    def pop(self) -> torch.Tensor:
        """Return the last recorded output and forget it."""
        if self.output is None:
            raise RuntimeError(f'feature tap `{self.name}` has recorded '
                               'nothing: run a forward pass first')
        out, self.output = self.output, None
        return out

    def remove(self):
        self._handle.remove()
