import torch
from mmengine.model import BaseDataPreprocessor

from rgl.registry import MODELS


@MODELS.register_module()
class ModalityDataPreprocessor(BaseDataPreprocessor):
    """Stack a batch of any modality on the model's device.

    Images, sequences and table rows become float tensors (``uint8`` images
    are divided by 255, as rgl keeps images in [0, 1]); integer token ids
    stay ``int64``, so a :class:`TokenIdTokenizer` can embed them.
    """

    def forward(self, data, training=False):
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            inputs = torch.stack([torch.as_tensor(x) for x in inputs])
        if inputs.dtype == torch.uint8:
            inputs = inputs.float().div_(255)
        elif inputs.is_floating_point():
            inputs = inputs.float()
        elif inputs.dtype != torch.bool:
            inputs = inputs.long()
        return dict(inputs=inputs, data_samples=data.get('data_samples'))
