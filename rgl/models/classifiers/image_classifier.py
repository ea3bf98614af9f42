import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import nn

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError
from rgl.utils.shapes import check_input_shape
from ..utils import Normalize


def build_module(cfg):
    """Build ``cfg`` with rgl's MODELS unless it is already a module."""
    return cfg if isinstance(cfg, nn.Module) else MODELS.build(cfg)


def infer_feature_dim(backbone):
    for attr in ('out_channels', 'num_features', 'embed_dims', 'embed_dim'):
        value = getattr(backbone, attr, None)
        if isinstance(value, int):
            return value
    return None


def stack_labels(data_samples, device):
    return torch.cat([ds.gt_label for ds in data_samples]).to(device)


def stack_field(data_samples, name, device):
    if not all(name in ds for ds in data_samples):
        raise ConfigError(
            f'model.loss_fields names `{name}`, which the data samples do not '
            f'have (for smoothed predictions wrap the dataset in '
            f'SmoothedPredictionDataset)')
    return torch.stack([ds.get(name) for ds in data_samples]).to(device)


@MODELS.register_module()
class ImageClassifier(BaseModel):
    """A classifier ``f(x) -> logits`` on images ``x`` in [0, 1].

    ``Normalize(mean, std) -> backbone -> global average pool (4-D
    features) -> Linear``. This is the *classifier* interface that smoothing
    wraps and certification queries: :meth:`logits`.

    Args:
        backbone (dict | nn.Module): any registered network (rgl, or
            ``'mmpretrain.X'``, or a timm adapter). Tuple outputs keep the
            last element (mmpretrain's convention).
        num_classes (int): number of classes K.
        in_channels (int, optional): feature dimension of the linear head;
            read from the backbone's ``out_channels``/``num_features``/
            ``embed_dim(s)`` when omitted.
        mean, std (Sequence[float], optional): per-channel normalisation
            applied to the [0, 1] input inside the model.
        train_loss (dict, optional): a robust training objective (see
            ``rgl.models.losses``) called as ``train_loss(self.logits,
            inputs, labels)``; it returns ``dict(loss_xxx=...)``. Default:
            cross-entropy on the clean inputs.
        label_smoothing (float): for the default cross-entropy.
        aligners (list[dict], optional): representation aligners (e.g.
            ``REPAAligner``) bound to feature taps of the backbone. In
            ``'loss'`` mode each aligns the hidden state of the objective's
            last forward pass (for noise-robust objectives: the noisy copies
            ``x + δ``, laid out copy-major) to the encoder tokens of the
            *clean* images ``x``, repeated per copy. This is REPA's principle
            applied to robustness; their losses join the objective's.
            Projector weights are training-only: a checkpoint with them
            loads into a classifier built without aligners.
        loss_fields (Sequence[str]): ``DataSample`` fields stacked over the
            batch and passed to ``train_loss`` as keyword arguments, e.g.
            ``('smoothed_pred',)`` from ``SmoothedPredictionDataset`` for
            CAT-RS's precomputed confidence.
    """

    def __init__(self,
                 backbone,
                 num_classes,
                 in_channels=None,
                 mean=None,
                 std=None,
                 train_loss=None,
                 label_smoothing=0.0,
                 aligners=None,
                 loss_fields=(),
                 data_preprocessor=None,
                 init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ImageDataPreprocessor')
        # Built here with rgl's registry: mmengine's BaseModel would look the
        # type up in the root registry, which fails outside a Runner.
        data_preprocessor = build_module(data_preprocessor)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ConfigError('model.num_classes must be a positive int, '
                              f'got {num_classes!r}')
        self.normalize = Normalize(mean, std)
        self.backbone = build_module(backbone)
        in_channels = in_channels or infer_feature_dim(self.backbone)
        if in_channels is None:
            raise ConfigError(
                f'model.in_channels is required: cannot read the feature '
                f'dimension of {type(self.backbone).__name__}')
        self.num_classes = num_classes
        self.head = nn.Linear(in_channels, num_classes)
        self.train_loss = None if train_loss is None else build_module(
            train_loss)
        self.label_smoothing = label_smoothing
        self.loss_fields = tuple(loss_fields)
        self.aligners = nn.ModuleList(
            [build_module(cfg).bind(self.backbone) for cfg in aligners or []])
        self._register_load_state_dict_pre_hook(self._drop_aligner_weights)

    def _drop_aligner_weights(self, state_dict, prefix, *args):
        if len(self.aligners) == 0:
            for key in [k for k in state_dict
                        if k.startswith(prefix + 'aligners.')]:
                state_dict.pop(key)

    def alignment_losses(self, clean_inputs):
        """Losses of every aligner after a training forward pass."""
        losses = {}
        for i, aligner in enumerate(self.aligners):
            hidden_batch = aligner.tap.output.shape[0]
            copies, rest = divmod(hidden_batch, clean_inputs.shape[0])
            if rest or copies == 0:
                raise ConfigError(
                    f'aligner {i}: the last forward pass had {hidden_batch} '
                    f'samples, not a multiple of the batch '
                    f'({clean_inputs.shape[0]})')
            targets = [
                t.repeat(copies, 1, 1) for t in aligner.encode(clean_inputs)
            ]
            out = aligner.loss(features=targets)
            suffix = '' if len(self.aligners) == 1 else f'_{i}'
            losses.update({k + suffix: v for k, v in out.items()})
        return losses

    def extract_feat(self, x):
        if self.normalize.enabled and self.normalize.mean.numel() > 1:
            # a 3-channel mean would broadcast a grey batch to 3 channels
            # and run silently on the wrong input
            channels = self.normalize.mean.numel()
            check_input_shape(
                x, type(self).__name__, channels,
                channels_from=f'model.mean has {channels} values',
                hint='; convert the images or set model.mean/std for them')
        feats = self.backbone(self.normalize(x))
        if isinstance(feats, (tuple, list)):
            feats = feats[-1]
        if feats.dim() == 4:
            feats = feats.mean(dim=(2, 3))
        elif feats.dim() == 3:  # tokens (N, T, D)
            feats = feats.mean(dim=1)
        return feats

    def logits(self, x):
        """``f(x)``: logits ``(N, K)`` for images ``x`` in [0, 1]."""
        return self.head(self.extract_feat(x))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'tensor':
            return self.logits(inputs)
        if mode == 'loss':
            labels = stack_labels(data_samples, inputs.device)
            if self.train_loss is not None:
                extras = {
                    name: stack_field(data_samples, name, inputs.device)
                    for name in self.loss_fields
                }
                losses = self.train_loss(self.logits, inputs, labels,
                                         **extras)
            else:
                losses = dict(loss_cls=F.cross_entropy(
                    self.logits(inputs), labels,
                    label_smoothing=self.label_smoothing))
            losses.update(self.alignment_losses(inputs))
            return losses
        if mode == 'predict':
            scores = self.logits(inputs).softmax(dim=1)
            for sample, score in zip(data_samples, scores):
                sample.set_pred_score(score).set_pred_label(score.argmax())
            for aligner in self.aligners:
                aligner.tap.output = None  # taps matter in training only
            return data_samples
        raise ValueError(f'mode must be tensor, loss or predict, got {mode}')
