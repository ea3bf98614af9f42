import torch
from mmengine.model import BaseDataPreprocessor

from rgl.registry import MODELS


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
            inputs = torch.stack(list(inputs))
        if inputs.dtype == torch.uint8:
            inputs = inputs.float().div_(255)
        elif not inputs.is_floating_point():
            inputs = inputs.float()
        return dict(inputs=inputs, data_samples=data.get('data_samples'))
