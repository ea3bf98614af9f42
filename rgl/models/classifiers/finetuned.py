"""Fine-tuning of any rgl classifier with a robust objective, in full or
through peft LoRA adapters (FT-CADIS fine-tunes off-the-shelf ViTs both
ways: full on CIFAR-10, LoRA r=4 on ImageNet).

Not imported by ``rgl.models.classifiers`` yet: configs name it in
``custom_imports = dict(imports=['rgl.models.classifiers.finetuned'])``.
"""
import os.path as osp
import re

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel, is_model_wrapper
from torch import nn

from rgl.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from rgl.utils.errors import CheckpointError, ConfigError

# a transformer block ``blocks.i`` (timm), ``layer.i`` (transformers),
# ``layers.i`` (mmpretrain), also inside peft-wrapped names
_BLOCK = re.compile(r'(?:^|\.)(?:blocks|layers?)\.(\d+)\.')
# what comes before the first block: token, position and patch embeddings
_EMBED = re.compile(r'(?:^|\.)(?:cls_token|reg_token|pos_embed|patch_embed|'
                    r'embeddings)(?:\.|$)')


def _build(cfg):
    return cfg if isinstance(cfg, nn.Module) else MODELS.build(cfg)


@MODELS.register_module()
class FineTunedClassifier(BaseModel):
    """A classifier ``f(x) -> logits`` trained with ``train_loss``.

    Args:
        classifier (dict | nn.Module): any rgl classifier with
            ``logits(x)`` on [0, 1] images (``ImageClassifier``,
            ``OffTheShelfClassifier`` with its own resize and
            normalisation), built with its pretrained weights.
        train_loss (dict | nn.Module, optional): called as
            ``train_loss(self.logits, inputs, labels)`` and returning
            ``dict(loss_xxx=...)`` (e.g. ``FTCADISLoss``); default
            cross-entropy (with ``label_smoothing``).
        lora (dict, optional): peft ``LoraConfig`` arguments, e.g.
            ``dict(r=4, lora_alpha=4, target_modules=['qkv'])`` (FT-CADIS:
            rank 4 on the attention projections, about 1% of a ViT-B/16's
            parameters with the head). The adapters are injected into the
            classifier and every other weight is frozen, except the modules
            named in ``trainable``. ``None``: full fine-tuning.
        trainable (Sequence[str]): with LoRA, modules (by name or name
            suffix, e.g. ``'head'``) trained in full besides the adapters.
        adapter (str, optional): a file written by :meth:`save_adapter`
            (adapters and ``trainable`` modules) to load after injection.
        label_smoothing (float): of the default cross-entropy (FT-CLIP's
            0.1 in MDDS's classifier fine-tuning).
        attention_dropout_ramp (float, optional): set the attention-
            probability dropout of block ``i`` of ``L`` to
            ``linspace(0, r, L)[i]``. This is what FT-CADIS's ``--drop_path
            0.2`` does to its transformers ViT-B/16 on CIFAR-10 (it sets
            ``attention.attention.dropout.p`` of each layer; a timm ViT
            takes a real ``drop_path_rate`` in ``model_kwargs``).

    Layer-wise lr decay: :meth:`get_layer_depth` numbers the parameters as
    BEiT/FT-CADIS do (embeddings 0, block ``i`` ``i + 1``, the rest
    ``L + 1``), for ``optim_wrapper.constructor=
    'LayerDecayOptimWrapperConstructor'``.
    """

    def __init__(self, classifier, train_loss=None, lora=None,
                 trainable=('head', ), adapter=None,
                 attention_dropout_ramp=None, label_smoothing=0.0,
                 data_preprocessor=None, init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ImageDataPreprocessor')
        super().__init__(data_preprocessor=_build(data_preprocessor),
                         init_cfg=init_cfg)
        self.classifier = _build(classifier)
        self.num_classes = getattr(self.classifier, 'num_classes', None)
        for attr in ('input_range', 'input_size', 'resize'):
            if hasattr(self.classifier, attr):
                setattr(self, attr, getattr(self.classifier, attr))
        self.train_loss = None if train_loss is None else _build(train_loss)
        self.label_smoothing = float(label_smoothing)
        self.lora = None if lora is None else dict(lora)
        self.trainable = tuple(trainable)
        if self.lora is not None:
            self._inject_lora()
            if adapter is not None:
                self.load_adapter(adapter)
        elif adapter is not None:
            raise ConfigError('model.adapter needs model.lora (an adapter '
                              'is loaded into LoRA layers)')
        if attention_dropout_ramp is not None:
            self._ramp_attention_dropout(attention_dropout_ramp)

    # -- layer-wise lr decay and the reference's dropout ramp ----------------
    def num_blocks(self):
        """L: the number of numbered transformer blocks of the classifier."""
        ids = [int(m.group(1)) for n, _ in self.classifier.named_parameters()
               for m in [_BLOCK.search(n)] if m]
        if not ids:
            raise ConfigError(
                'layer-wise lr decay (optim_wrapper.paramwise_cfg.'
                'layer_decay_rate) needs a classifier with numbered blocks '
                f'(blocks.i / layer.i / layers.i); '
                f'{type(self.classifier).__name__} has none')
        return max(ids) + 1

    def get_layer_depth(self, param_name, prefix=''):
        """``(layer_id, max_id)`` of a parameter, for mmpretrain's
        ``LearningRateDecayOptimWrapperConstructor``: the lr scale is
        ``rate^(max_id − layer_id − 1) = rate^(L + 1 − layer_id)``, as
        FT-CADIS's ``param_groups_lrd`` (embeddings 0, block i → i + 1,
        everything else, the head included, L + 1)."""
        name = param_name[len(prefix):] if param_name.startswith(prefix) \
            else param_name
        depth = self.num_blocks()
        block = _BLOCK.search(name)
        if _EMBED.search(name):
            layer = 0
        elif block:
            layer = int(block.group(1)) + 1
        else:
            layer = depth + 1
        return layer, depth + 2

    def _ramp_attention_dropout(self, rate):
        if not 0 <= rate < 1:
            raise ConfigError(f'model.attention_dropout_ramp must lie in '
                              f'[0, 1), got {rate!r}')
        found = {}  # block index -> (module, attribute)
        for name, module in self.classifier.named_modules():
            block = _BLOCK.search(name + '.')
            if not block:
                continue
            if isinstance(getattr(module, 'attention_dropout', None),
                          float):  # transformers >= 5: a float attribute
                found[int(block.group(1))] = (module, 'attention_dropout')
            elif isinstance(module, nn.Dropout) and \
                    name.endswith('attention.attention.dropout'):
                found[int(block.group(1))] = (module, 'p')  # transformers 4
        if not found:
            raise ConfigError(
                'model.attention_dropout_ramp: no attention-probability '
                'dropout (a transformers ViT\'s attention_dropout) in '
                f'{type(self.classifier).__name__}')
        rates = torch.linspace(0, rate, len(found)).tolist()
        for (_, (module, attr)), p in zip(sorted(found.items()), rates):
            setattr(module, attr, p)

    # -- LoRA ---------------------------------------------------------------
    def _inject_lora(self):
        from peft import LoraConfig, inject_adapter_in_model
        try:
            config = LoraConfig(**self.lora)
        except TypeError as err:
            raise ConfigError(f'model.lora: {err}') from None
        try:
            inject_adapter_in_model(config, self.classifier)
        except ValueError as err:
            raise ConfigError(f'model.lora.target_modules: {err}') from None
        names = [n for n, _ in self.classifier.named_modules()]
        for want in self.trainable:
            hits = [n for n in names if n == want or n.endswith('.' + want)]
            if not hits:
                raise ConfigError(f'model.trainable: no module named {want!r}'
                                  f' in {type(self.classifier).__name__}')
            for name in hits:
                self.classifier.get_submodule(name).requires_grad_(True)

    def adapter_state_dict(self):
        """The trained weights under LoRA: the adapters (``lora_A``,
        ``lora_B``) and the ``trainable`` modules, by parameter name (not
        through ``state_dict``, which a wrapped classifier may re-key)."""
        return {name: p.detach().contiguous()
                for name, p in self.classifier.named_parameters()
                if p.requires_grad}

    def save_adapter(self, path):
        """Write :meth:`adapter_state_dict` to a ``.safetensors`` file."""
        if self.lora is None:
            raise ConfigError('save_adapter needs model.lora')
        from safetensors.torch import save_file
        save_file(self.adapter_state_dict(), path)

    def load_adapter(self, path):
        """Load a :meth:`save_adapter` file strictly (names and shapes)."""
        from safetensors.torch import load_file
        if not osp.isfile(path):
            raise CheckpointError(f'adapter file not found: {path}')
        state = load_file(path)
        own = dict(self.classifier.named_parameters())
        want = {k for k, p in own.items() if p.requires_grad}
        missing, unexpected = sorted(want - set(state)), sorted(
            set(state) - want)
        if missing or unexpected:
            raise CheckpointError(f'{path} does not fit model.lora: missing '
                                  f'{missing[:3]}, unexpected '
                                  f'{unexpected[:3]}')
        for key in sorted(want):
            if state[key].shape != own[key].shape:
                raise CheckpointError(
                    f'{path}: {key} has shape {tuple(state[key].shape)}, '
                    f'the model {tuple(own[key].shape)} (another '
                    'model.lora.r?)')
        with torch.no_grad():
            for key in want:
                own[key].copy_(state[key])

    # -- classifier interface ------------------------------------------------
    def logits(self, x):
        """``f(x)``: logits ``(N, K)`` for images ``x`` in [0, 1]."""
        fn = getattr(self.classifier, 'logits', self.classifier)
        return fn(x)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'tensor':
            return self.logits(inputs)
        if mode == 'loss':
            labels = torch.cat([ds.gt_label for ds in data_samples]).to(
                inputs.device)
            if self.train_loss is not None:
                return self.train_loss(self.logits, inputs, labels)
            return dict(loss_cls=F.cross_entropy(
                self.logits(inputs), labels,
                label_smoothing=self.label_smoothing))
        if mode == 'predict':
            scores = self.logits(inputs).softmax(dim=1)
            for sample, score in zip(data_samples, scores):
                sample.set_pred_score(score).set_pred_label(score.argmax())
            return data_samples
        raise ValueError(f'mode must be tensor, loss or predict, got {mode}')


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor:
    """mmpretrain's ``LearningRateDecayOptimWrapperConstructor`` (layer-wise
    lr decay, BEiT/FT-CADIS) on the model inside a DDP wrapper.

    mmpretrain's constructor asks the top module for ``get_layer_depth``;
    under ``tools/dist_train.sh`` that module is mmengine's DDP wrapper,
    which has none. This passes the wrapped model instead (its parameters
    are the same tensors). Config::

        optim_wrapper = dict(
            constructor='LayerDecayOptimWrapperConstructor',
            paramwise_cfg=dict(
                layer_decay_rate=0.65, flat_decay_mult=0.0,
                custom_keys={'.cls_token': dict(decay_mult=0.0),
                             '.pos_embed': dict(decay_mult=0.0)}),
            ...)
    """

    def __init__(self, optim_wrapper_cfg, paramwise_cfg=None):
        from mmpretrain.engine.optimizers import \
            LearningRateDecayOptimWrapperConstructor
        self._inner = LearningRateDecayOptimWrapperConstructor(
            optim_wrapper_cfg, paramwise_cfg)

    def __call__(self, model):
        if is_model_wrapper(model):
            model = model.module
        if not hasattr(model, 'get_layer_depth'):
            raise ConfigError(
                f'optim_wrapper.constructor LayerDecayOptimWrapperConstructor'
                f' needs a model with get_layer_depth (FineTunedClassifier, '
                f'mmpretrain classifiers); got {type(model).__name__}')
        return self._inner(model)
