import torch
from mmengine.model import BaseDataPreprocessor

from rgl.registry import MODELS
from rgl.utils.errors import DataError


@MODELS.register_module()
class ImageDataPreprocessor(BaseDataPreprocessor):
    """Stack a batch of images into ``(N, C, H, W)`` float in [0, 1] on the
    model's device.

    rgl keeps images in [0, 1] up to the model: normalisation is the model's
    first layer (:class:`~rgl.models.utils.Normalize`), so noise models
    (randomized smoothing) and encoders see the pixel space their σ and
    preprocessing are defined in. ``uint8`` inputs are divided by 255.
    """

    def forward(self, data, training=False):
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            shapes = {tuple(x.shape) for x in inputs}
            if len(shapes) > 1:
                raise DataError(
                    f'the images of one batch differ in shape '
                    f'({", ".join(map(str, sorted(shapes)[:3]))}); give '
                    'the dataset an img_size or a Resize transform so that '
                    'they can be stacked')
            inputs = torch.stack(list(inputs))
        if inputs.dtype == torch.uint8:
            inputs = inputs.float().div_(255)
        elif not inputs.is_floating_point():
            inputs = inputs.float()
        return dict(inputs=inputs, data_samples=data.get('data_samples'))
