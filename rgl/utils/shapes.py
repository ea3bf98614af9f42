"""Cheap input checks at model entry points.

A batch with the wrong number of channels or the wrong size otherwise fails
deep inside a convolution or a positional embedding; these checks name the
model, what it was built for and what it got, as a
:class:`~rgl.utils.errors.DataError` (one ``error:`` line in tools/).
"""
from .errors import DataError

#: What to change when a classifier backbone gets the wrong channels.
CHANNELS_HINT = ("; set model.backbone.in_channels to the images' channels "
                 '(or convert the images)')


def check_input_shape(x, owner, channels=None, size=None, hint='',
                      channels_from=None):
    """Raise :class:`DataError` unless ``x`` is an ``(N, C, H, W)`` batch
    with ``C == channels`` and ``H == W == size`` (each check only when the
    expected value is given).

    Args:
        x (Tensor): the input batch.
        owner (str): the model named in the message, e.g. ``'SmallConvNet'``.
        channels (int, optional): expected C.
        size (int, optional): expected H and W.
        hint (str): what to change, appended to the message.
        channels_from (str, optional): where ``channels`` comes from, for
            the message (default ``in_channels=<channels>``).
    """
    shape = tuple(x.shape)
    got = f'got a batch of shape {shape}'
    if len(shape) != 4:
        raise DataError(f'{owner} expects (N, C, H, W) inputs, {got}{hint}')
    if channels is not None and shape[1] != channels:
        source = channels_from or f'in_channels={channels}'
        raise DataError(f'{owner} was built for {channels}-channel inputs '
                        f'({source}), {got}{hint}')
    if size is not None and shape[2:] != (size, size):
        raise DataError(f'{owner} was built for {size}x{size} inputs '
                        f'(input_size={size}), {got}{hint}')
