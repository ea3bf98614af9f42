import torch
from mmengine.model import BaseDataPreprocessor

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError, DataError

#: What a batch's ``inputs`` hold: images (uint8 or [0, 1]) or the model's
#: own data (e.g. VAE latents). Datasets declare it per item in the data
#: sample's metainfo (``input_space``); undeclared items are images.
INPUT_SPACES = ('pixel', 'latent')


def _stack(items):
    if isinstance(items, (list, tuple)):
        items = torch.stack(list(items))
    return items


def _to_unit(x):
    """uint8 images → float [0, 1]; float tensors pass through."""
    if x.dtype == torch.uint8:
        return x.float().div_(255)
    return x if x.is_floating_point() else x.float()


def declared_space(data_samples, configured=None):
    """The input space of a batch: what its data samples declare
    (``metainfo['input_space']``, e.g. set by :class:`LatentDataset`), else
    ``configured``, else ``'pixel'``.

    A batch whose items declare different spaces, or that contradicts the
    configured space, is refused: guessing would train on the wrong data
    without an error.
    """
    if configured is not None and configured not in INPUT_SPACES:
        raise ConfigError(f'input_space must be one of {INPUT_SPACES}, got '
                          f'{configured!r}')
    declared = {
        ds.metainfo.get('input_space')
        for ds in data_samples or () if hasattr(ds, 'metainfo')
    }
    declared.discard(None)
    if len(declared) > 1:
        raise DataError(f'one batch mixes inputs declared as '
                        f'{sorted(declared)}: a generative model trains on '
                        'one input space (do not concatenate latent and '
                        'image datasets)')
    if declared:
        space = declared.pop()
        if space not in INPUT_SPACES:
            raise DataError(f'a data sample declares input_space={space!r}; '
                            f'expected one of {INPUT_SPACES}')
        if configured is not None and configured != space:
            raise ConfigError(
                f'data_preprocessor.input_space={configured!r} but the '
                f'dataset declares its items as {space!r}; remove the '
                'option or use the matching dataset')
        return space
    return configured or 'pixel'


@MODELS.register_module()
class GenerativeDataPreprocessor(BaseDataPreprocessor):
    """Batch the samples of pixel or latent datasets for generative models.

    ``inputs`` are images (uint8 or [0, 1]) or latents, as the dataset
    declares (see :func:`declared_space`); the optional ``images`` (raw
    images for the encoders) and ``features`` (pre-extracted encoder tokens,
    one tensor per encoder) are stacked and passed through, and
    ``input_space`` tells the algorithm which it got, so mmengine's
    ``model(**data, mode=...)`` hands all of it to the algorithm.

    Args:
        input_space (str, optional): ``'pixel'`` or ``'latent'`` for
            datasets that do not declare their items (an error when it
            contradicts a declaration); default: the declaration, else
            ``'pixel'``.
    """

    def __init__(self, input_space=None):
        super().__init__()
        declared_space(None, input_space)  # validates the name
        self.input_space = input_space

    def forward(self, data, training=False):
        data = self.cast_data(data)
        samples = data.get('data_samples')
        space = declared_space(samples, self.input_space)
        inputs = _stack(data['inputs'])
        if space == 'latent' and not inputs.is_floating_point():
            raise DataError(f'inputs declared as latents are '
                            f'{inputs.dtype}, not float')
        out = dict(inputs=_to_unit(inputs), data_samples=samples,
                   input_space=space)
        if data.get('images') is not None:
            out['images'] = _to_unit(_stack(data['images']))
        if data.get('features') is not None:
            feats = data['features']
            if isinstance(feats, torch.Tensor):
                feats = [feats]
            out['features'] = [_stack(f).float() for f in feats]
        return out
