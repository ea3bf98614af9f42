"""Off-the-shelf base classifiers (timm, open_clip zero-shot, mmpretrain)
behind rgl's classifier interface ``logits(x)`` on [0, 1] images.

Denoised smoothing certifies pretrained classifiers without retraining
them (Salman et al. 2020; Carlini et al. 2023): the wrapper owns the
preprocessing each library expects (resize to the network's resolution,
mean/std), so a denoiser hands it [0, 1] images of any size it allows.
"""
import os.path as osp

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel

from rgl.registry import MODELS
from rgl.utils.checkpoint import load_state_dict_file
from rgl.utils.errors import CheckpointError, ConfigError, DataError
from ..utils import Normalize

BACKENDS = ('timm', 'open_clip', 'mmpretrain', 'transformers')


def read_weights(path):
    """A state dict from a local ``.safetensors`` or torch file (safe
    loaders only), without DDP's ``module.`` prefix."""
    state = load_state_dict_file(path)  # torch or .safetensors
    if not isinstance(state, dict):
        raise CheckpointError(f'{path}: expected a state dict')
    return {k[len('module.'):] if k.startswith('module.') else k: v
            for k, v in state.items()}


@MODELS.register_module()
class OffTheShelfClassifier(BaseModel):
    """``f(x) = net(normalize(resize(x)))`` for a pretrained network.

    Args:
        backend (str): ``'timm'``, ``'open_clip'``, ``'mmpretrain'`` or
            ``'transformers'``.
        model (str | dict): timm model name (e.g.
            ``'beit_large_patch16_512'``, ``'vit_base_patch16_224'``); an
            open_clip architecture (e.g. ``'ViT-B-16'``); an mmpretrain model
            config dict (``dict(type='ImageClassifier', ...)``); a local
            folder of a transformers image classifier (``save_pretrained``;
            e.g. the ViT-B/16 CIFAR-10 classifier of DDS), read with
            ``local_files_only``.
        checkpoint (str, optional): local weights (torch file or
            ``.safetensors``) in the library's own key layout (or this
            wrapper's, ``net.``-prefixed), loaded strictly.
        num_classes (int, optional): K (timm: the head size; open_clip:
            ``len(class_names)``; mmpretrain: read from the head).
        input_size (int, optional): the network's resolution; default
            read from the model.
        resize (str | None): interpolation used when an input is not
            ``input_size`` (``'bicubic'``, antialiased, as DDS resizes
            32→224 and 256→512); ``None`` makes a size mismatch an error.
        mean, std (Sequence[float], optional): normalisation of [0, 1]
            inputs; default the library's (timm ``pretrained_cfg``, CLIP's
            constants, mmpretrain's ``data_preprocessor`` / 255).
        class_names (Sequence[str]): open_clip zero-shot classes.
        templates (Sequence[str]): prompt templates with ``{}``; the
            zero-shot weight of a class is the normalised mean of its
            normalised prompt embeddings (Radford et al. 2021).
        model_kwargs (dict): extra arguments of ``timm.create_model`` /
            ``open_clip.create_model``.
        missing_ok (Sequence[str]): key prefixes of the network that
            ``checkpoint`` may lack (e.g. ``('head.', )``: a new head on a
            pretrained backbone for fine-tuning); every other key loads
            strictly.
    """

    input_range = (0.0, 1.0)

    def __init__(self, backend, model, checkpoint=None, num_classes=None,
                 input_size=None, resize='bicubic', mean=None, std=None,
                 class_names=None, templates=('a photo of a {}.', ),
                 model_kwargs=None, missing_ok=(), data_preprocessor=None,
                 init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ImageDataPreprocessor')
        super().__init__(data_preprocessor=MODELS.build(data_preprocessor),
                         init_cfg=init_cfg)
        if backend not in BACKENDS:
            raise ConfigError(f'model.backend must be one of {BACKENDS}, got '
                              f'{backend!r}')
        if resize not in (None, 'bicubic', 'bilinear', 'nearest'):
            raise ConfigError(f"model.resize must be None, 'bicubic', "
                              f"'bilinear' or 'nearest', got {resize!r}")
        self.backend = backend
        self.resize = resize
        self.model_kwargs = dict(model_kwargs or {})
        self.class_names = list(class_names or [])
        self.templates = list(templates)
        self.missing_ok = tuple(missing_ok)
        build = getattr(self, f'_build_{backend}')
        defaults = build(model, num_classes)
        self.input_size = input_size or defaults['input_size']
        if not isinstance(self.input_size, int) or self.input_size < 1:
            raise ConfigError('model.input_size is required: it cannot be '
                              'read from the network')
        mean = defaults['mean'] if mean is None else mean
        std = defaults['std'] if std is None else std
        self.normalize = Normalize(list(mean), list(std))
        if checkpoint is not None:
            self.load_weights(checkpoint)
        self._head_key = None
        self.eval()

    # -- builders -----------------------------------------------------------
    def _build_timm(self, name, num_classes):
        import timm
        kwargs = dict(self.model_kwargs)
        if num_classes is not None:
            kwargs['num_classes'] = num_classes
        try:
            self.net = timm.create_model(name, pretrained=False, **kwargs)
        except RuntimeError as err:
            raise ConfigError(f'model.model {name!r}: {err}') from None
        self.num_classes = self.net.num_classes
        cfg = getattr(self.net, 'pretrained_cfg', {}) or {}
        size = getattr(getattr(self.net, 'patch_embed', None), 'img_size',
                       None) or cfg.get('input_size', (3, None, None))[1:]
        size = size[0] if isinstance(size, (tuple, list)) else size
        return dict(input_size=size, mean=cfg.get('mean', (0.485, 0.456,
                                                           0.406)),
                    std=cfg.get('std', (0.229, 0.224, 0.225)))

    def _build_open_clip(self, name, num_classes):
        import open_clip
        if not self.class_names:
            raise ConfigError('model.class_names is required for open_clip '
                              'zero-shot classification')
        if num_classes is not None and num_classes != len(self.class_names):
            raise ConfigError(f'model.num_classes={num_classes} but '
                              f'{len(self.class_names)} class_names')
        if not all('{}' in t for t in self.templates):
            raise ConfigError("every model.templates entry needs a '{}' "
                              'for the class name')
        if name not in open_clip.list_models():
            raise ConfigError(f'model.model {name!r} is not an open_clip '
                              'architecture (open_clip.list_models())')
        self.net = open_clip.create_model(name, pretrained=None,
                                          **self.model_kwargs)
        self.tokenizer = open_clip.get_tokenizer(name)
        self.num_classes = len(self.class_names)
        size = self.net.visual.image_size
        size = size[0] if isinstance(size, (tuple, list)) else size
        self.register_buffer('zeroshot_weights', torch.zeros(0),
                             persistent=False)
        return dict(input_size=size,
                    mean=open_clip.constants.OPENAI_DATASET_MEAN,
                    std=open_clip.constants.OPENAI_DATASET_STD)

    def _build_mmpretrain(self, cfg, num_classes):
        if not isinstance(cfg, dict):
            raise ConfigError('model.model must be an mmpretrain model '
                              'config dict for backend mmpretrain')
        from mmpretrain.registry import MODELS as MMP_MODELS
        cfg = dict(cfg)
        pre = cfg.pop('data_preprocessor', None) or {}
        self.net = MMP_MODELS.build(cfg)
        head = getattr(self.net, 'head', None)
        own = getattr(head, 'num_classes', None)
        if num_classes is not None and own is not None and \
                own != num_classes:
            raise ConfigError(f'model.num_classes={num_classes} but the '
                              f'mmpretrain head has {own}')
        self.num_classes = num_classes or own
        mean = [m / 255 for m in pre.get('mean', (123.675, 116.28, 103.53))]
        std = [s / 255 for s in pre.get('std', (58.395, 57.12, 57.375))]
        return dict(input_size=None, mean=mean, std=std)

    def _build_transformers(self, folder, num_classes):
        import json
        if not isinstance(folder, str) or not osp.isdir(folder):
            raise ConfigError(f'model.model must be a local folder for '
                              f'backend transformers, got {folder!r}')
        from transformers import AutoModelForImageClassification
        self.net = AutoModelForImageClassification.from_pretrained(
            folder, local_files_only=True, **self.model_kwargs)
        own = self.net.config.num_labels
        if num_classes is not None and num_classes != own:
            raise ConfigError(f'model.num_classes={num_classes} but the '
                              f'transformers model has {own} labels')
        self.num_classes = own
        pre = {}
        if osp.isfile(osp.join(folder, 'preprocessor_config.json')):
            with open(osp.join(folder, 'preprocessor_config.json')) as f:
                pre = json.load(f)
        size = getattr(self.net.config, 'image_size', None)
        return dict(input_size=size,
                    mean=pre.get('image_mean', (0.5, 0.5, 0.5)),
                    std=pre.get('image_std', (0.5, 0.5, 0.5)))

    # -- weights --------------------------------------------------------------
    def state_dict(self, *args, destination=None, prefix='', keep_vars=False):
        """The library's own key layout (what released files hold), so
        ``tools/certify.py CONFIG released_weights.pth`` loads them and
        checkpoints of this wrapper are library checkpoints.

        Inside another module (a non-empty ``prefix``, e.g. in
        ``FineTunedClassifier``) the keys keep their ``net.`` level, as
        ``load_state_dict`` of that module expects them."""
        if prefix or args:
            return super().state_dict(*args, destination=destination,
                                      prefix=prefix, keep_vars=keep_vars)
        return self.net.state_dict(destination=destination,
                                   keep_vars=keep_vars)

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """The library's layout, or this wrapper's (``net.``-prefixed)."""
        if state_dict and all(k.startswith('net.') for k in state_dict):
            state_dict = {k[4:]: v for k, v in state_dict.items()}
        return self.net.load_state_dict(state_dict, strict=strict,
                                        assign=assign)

    def load_weights(self, path):
        state = read_weights(path)
        if all(k.startswith('net.') for k in state):
            state = {k[4:]: v for k, v in state.items()}
        own = self.net.state_dict()
        missing = [k for k in own if k not in state]
        if self.backend == 'open_clip':  # non-persistent in new releases
            missing = [k for k in missing if k != 'attn_mask']
        missing = [k for k in missing if not k.startswith(self.missing_ok)]
        unexpected = [k for k in state if k not in own]
        if missing or unexpected:
            raise CheckpointError(
                f'{path} does not fit the {self.backend} model: first '
                f'missing key {missing[:1]}, unexpected {unexpected[:3]}')
        try:
            self.net.load_state_dict(state, strict=False)
        except RuntimeError as err:
            raise CheckpointError(f'{path}: {str(err).splitlines()[-1]}'
                                  ) from None

    # -- classifier interface ------------------------------------------------
    def preprocess(self, x):
        """[0, 1] images → the network's resolution and normalisation."""
        if x.dim() != 4:
            raise DataError(f'expected images (N, C, H, W), got '
                            f'{tuple(x.shape)}')
        if x.shape[1] == 1 and self.normalize.enabled and \
                self.normalize.mean.shape[1] == 3:
            x = x.expand(-1, 3, -1, -1)
        if tuple(x.shape[-2:]) != (self.input_size, self.input_size):
            if self.resize is None:
                raise DataError(
                    f'model.resize is None but the classifier takes '
                    f'{self.input_size}x{self.input_size} images and got '
                    f'{x.shape[-2]}x{x.shape[-1]} (from the dataset or the '
                    'denoiser); set model.resize, e.g. \'bicubic\'')
            linear = self.resize in ('bilinear', 'bicubic')
            x = F.interpolate(x, size=(self.input_size, ) * 2,
                              mode=self.resize,
                              align_corners=False if linear else None,
                              antialias=linear)
        return self.normalize(x)

    def _zeroshot_head(self):
        """(K, D) class embeddings × logit scale, rebuilt when the CLIP
        weights change (e.g. after ``load_state_dict``)."""
        from rgl.models.smoothing.inference import state_version
        key = state_version(self.net)
        if self._head_key != key or self.zeroshot_weights.numel() == 0:
            with torch.no_grad(), torch.inference_mode(False):
                texts = [t.format(c) for c in self.class_names
                         for t in self.templates]
                device = next(self.net.parameters()).device
                emb = self.net.encode_text(self.tokenizer(texts).to(device),
                                           normalize=True).float()
                emb = emb.view(len(self.class_names), len(self.templates),
                               -1).mean(1)
                emb = F.normalize(emb, dim=-1)
                scale = self.net.logit_scale.exp().float()
                self.zeroshot_weights = (emb * scale).detach()
            self._head_key = key
        return self.zeroshot_weights

    def logits(self, x):
        """``f(x)``: logits ``(N, K)`` for images ``x`` in [0, 1]."""
        x = self.preprocess(x)
        if self.backend == 'open_clip':
            head = self._zeroshot_head()
            feats = self.net.encode_image(x, normalize=True)
            return feats.float() @ head.t()
        if self.backend == 'transformers':
            return self.net(pixel_values=x).logits
        if self.backend == 'mmpretrain':
            out = self.net(x, mode='tensor')
            return out[-1] if isinstance(out, (tuple, list)) else out
        return self.net(x)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'tensor':
            return self.logits(inputs)
        if mode == 'loss':
            labels = torch.cat([ds.gt_label for ds in data_samples]).to(
                inputs.device)
            return dict(loss_cls=F.cross_entropy(self.logits(inputs),
                                                 labels))
        if mode == 'predict':
            scores = self.logits(inputs).softmax(dim=1)
            for sample, score in zip(data_samples, scores):
                sample.set_pred_score(score).set_pred_label(score.argmax())
            return data_samples
        raise ValueError(f'mode must be tensor, loss or predict, got {mode}')


def check_denoiser_classifier(denoiser, classifier):
    """One clear error when a denoiser's output cannot feed the classifier:
    different value ranges, or different resolutions with no resize."""
    out_range = tuple(getattr(denoiser, 'output_range', (0.0, 1.0)))
    in_range = tuple(getattr(classifier, 'input_range', (0.0, 1.0)))
    if out_range != in_range:
        raise ConfigError(
            f'smoothing.denoiser returns values in {out_range} but the '
            f'classifier (model.input_range) takes {in_range}')
    size = getattr(denoiser, 'output_size', None)
    want = getattr(classifier, 'input_size', None)
    if size and want and size != want and \
            getattr(classifier, 'resize', None) is None:
        raise ConfigError(
            f'smoothing.denoiser returns {size}x{size} images but the '
            f'classifier takes {want}x{want} and model.resize is None; set '
            "model.resize (e.g. 'bicubic')")
