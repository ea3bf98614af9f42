"""WinCLIP and WinCLIP+ (Jeong et al., CVPR 2023)."""
import copy
import warnings

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample
from tqdm import tqdm

from rgl.registry import DATASETS, MODELS
from rgl.utils.errors import ConfigError
from ..utils import Normalize
from .clip_loader import build_open_clip, build_tokenizer
from .data_preprocessor import resize_images
from .memory_bank import VisualMemoryBank
from .text_cache import (TextPrototypeCache, default_cache_dir,
                         prototype_key, text_tower_sha256)
from .window_embedder import WindowEmbedder
from .windows import harmonic_aggregation, harmonic_mean

#: ``model.autocast`` values and their dtypes.
AUTOCAST_DTYPES = {None: None, 'float32': None, 'bfloat16': torch.bfloat16,
                   'float16': torch.float16, 'auto': 'auto'}

#: CLIP's image normalisation (open_clip's OPENAI_DATASET_MEAN/STD).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def _build(cfg):
    return cfg if isinstance(cfg, torch.nn.Module) else MODELS.build(cfg)


@MODELS.register_module()
class WinCLIP(BaseModel):
    """Zero-shot anomaly classification and segmentation with CLIP.

    For an image ``x`` with class name ``c`` the compositional prompt
    ensemble gives text prototypes ``t_n, t_a``; the anomaly score of a
    visual feature ``f`` is

        ``s(f) = softmax(<f, t_n> / τ, <f, t_a> / τ)[a]``.

    The image score is ``s(F_img)``. For each window scale ``k`` the window
    scores are harmonic-averaged onto the patches they cover, giving
    ``M_k``; the zero-shot map is the harmonic mean of ``M_2, M_3`` and the
    image score broadcast to every patch (the largest "window"), upsampled
    bilinearly to the original image size.

    Args:
        clip (dict): ``model_name`` (open_clip architecture, default
            ``'ViT-B-16-plus-240'``), ``checkpoint`` (local weights file,
            e.g. the laion400m_e31 release) and optional ``model_cfg`` (a
            custom open_clip config; tests use a tiny one).
        prompt (dict): the prompt ensemble
            (:class:`CompositionalPromptEnsemble`).
        class_name (str, optional): the object's name in the prompts;
            default: the dataset's ``category``, else ``"object"``.
        scales (Sequence[int]): window sides ``k`` in patches.
        temperature (float): ``τ`` of the two-way softmax.
        max_sequences (int): window sequences per transformer call.
        autocast (str, optional): run the image tower under autocast:
            ``'bfloat16'`` (CPUs with AVX512-BF16/AMX, recent GPUs),
            ``'float16'`` (GPUs), or ``'auto'`` (bf16 on CPU, fp16 on
            CUDA); ``None`` (default): float32. Features, scores and the
            text prototypes stay float32 (see configs/winclip/README.md
            for the measured map differences).
        compile (bool | dict): ``torch.compile`` the image tower's
            transformer in place (a dict holds ``torch.compile`` options);
            it is called with three sequence lengths (image, 2x2 and 3x3
            windows), so ``dynamic=False`` is the default: three static
            graphs.
        text_cache_dir (str, optional): where text prototypes are cached on
            disk, keyed by the text tower's weights, the model name and the
            prompts (:mod:`.text_cache`); ``'auto'``:
            ``~/.cache/rgl/winclip`` (or ``$RGL_CACHE_DIR/winclip``);
            ``None``: no disk cache.
        data_preprocessor (dict, optional): default
            :class:`AnomalyDataPreprocessor` at the CLIP input size.
    """

    k_shot = 0

    def __init__(self,
                 clip=dict(model_name='ViT-B-16-plus-240'),
                 prompt=dict(type='CompositionalPromptEnsemble'),
                 class_name=None,
                 scales=(2, 3),
                 temperature=0.07,
                 max_sequences=4096,
                 autocast=None,
                 compile=False,
                 text_cache_dir='auto',
                 data_preprocessor=None,
                 init_cfg=None):
        clip = dict(clip)
        model_name = clip.pop('model_name', 'ViT-B-16-plus-240')
        unknown = set(clip) - {'checkpoint', 'model_cfg'}
        if unknown:
            raise ConfigError(f'model.clip has unknown keys {sorted(unknown)}'
                              " (expected model_name, checkpoint, model_cfg)")
        clip_model = build_open_clip(model_name, **clip)
        visual = clip_model.visual
        size = visual.image_size
        size = tuple(size) if isinstance(size, (tuple, list)) else (size, ) * 2
        if data_preprocessor is None:
            data_preprocessor = dict(type='AnomalyDataPreprocessor',
                                     size=size)
        super().__init__(data_preprocessor=_build(data_preprocessor),
                         init_cfg=init_cfg)
        if temperature <= 0:
            raise ConfigError(f'model.temperature must be > 0, got '
                              f'{temperature}')
        self.clip = clip_model
        self.model_name = model_name
        self.tokenizer = build_tokenizer(model_name, clip_model)
        self.prompt = _build(prompt)
        self.embedder = WindowEmbedder(visual, scales, max_sequences)
        pre = getattr(visual, 'preprocess_cfg', None) or {}
        self.normalize = Normalize(pre.get('mean', CLIP_MEAN),
                                   pre.get('std', CLIP_STD))
        self.class_name = class_name
        self.temperature = float(temperature)
        if autocast not in AUTOCAST_DTYPES:
            raise ConfigError(f'model.autocast must be one of '
                              f'{sorted(map(str, AUTOCAST_DTYPES))}, got '
                              f'{autocast!r}')
        self.autocast = autocast
        if compile:
            opts = dict(dynamic=False)
            opts.update(compile if isinstance(compile, dict) else {})
            visual.transformer.compile(**opts)
            if self.embedder.class_pass is not None:  # the window passes
                self.embedder.class_pass.compile(**opts)
        self._text_cache = {}
        if text_cache_dir == 'auto':
            text_cache_dir = default_cache_dir()
        self.text_cache = TextPrototypeCache(text_cache_dir) \
            if text_cache_dir else None
        self._text_sha256 = None
        self._warned_object = False

    # ---- text side -----------------------------------------------------
    def class_name_of(self, sample):
        """The prompt class name of one sample: ``class_name``, else the
        sample's ``category``, else "object" (warned once)."""
        name = self.class_name
        if not name and sample is not None:
            name = sample.metainfo.get('category')
        if not name:
            if not self._warned_object:
                warnings.warn('WinCLIP: no class name (set model.class_name '
                              "or the dataset's category); prompts use "
                              '"object"')
                self._warned_object = True
            return 'object'
        return str(name).replace('_', ' ')

    def text_prototypes(self, class_name):
        """``(2, D)`` prototypes ``[t_n, t_a]`` of a class, cached in memory
        and (``text_cache_dir``) on disk."""
        if class_name not in self._text_cache:
            self._text_cache[class_name] = self._disk_cached_prototypes(
                class_name)
        return self._text_cache[class_name]

    def _disk_cached_prototypes(self, class_name):
        prompts = getattr(self.prompt, 'prompts', None)
        if self.text_cache is None or prompts is None:
            return self.prompt(self.clip, self.tokenizer, class_name)
        if self._text_sha256 is None:  # after any weights were loaded
            self._text_sha256 = text_tower_sha256(self.clip)
        key = prototype_key(self._text_sha256, self.model_name,
                            type(self.prompt).__name__, prompts(class_name))
        device = next(self.clip.parameters()).device
        cached = self.text_cache.load(key)
        if cached is not None:
            return cached.to(device)
        protos = self.prompt(self.clip, self.tokenizer, class_name)
        self.text_cache.save(key, protos, dict(
            class_name=class_name, model_name=self.model_name,
            prompt=type(self.prompt).__name__))
        return protos

    def text_score(self, feats, protos):
        """``s(f)`` for features ``(B, N, D)`` and prototypes
        ``(B, 2, D)``: the anomalous entry of the two-way softmax."""
        logits = feats @ protos.transpose(1, 2).to(feats) / self.temperature
        return logits.softmax(-1)[..., 1]

    # ---- scores --------------------------------------------------------
    def zero_shot(self, feats, protos):
        """Image score ``(B,)`` and zero-shot patch map ``(B, L)``."""
        image_score = self.text_score(feats['image'][:, None], protos)[:, 0]
        maps = [harmonic_aggregation(
            self.text_score(feats['windows'][k], protos),
            self.embedder.coverage(k)) for k in self.embedder.scales]
        maps.append(image_score[:, None].expand_as(maps[0]))
        return image_score, harmonic_mean(torch.stack(maps))

    def autocast_context(self, device):
        """``torch.autocast`` for the image tower (disabled by default)."""
        device = torch.device(device).type
        dtype = AUTOCAST_DTYPES[self.autocast]
        if dtype == 'auto':
            dtype = torch.float16 if device == 'cuda' else torch.bfloat16
        return torch.autocast(device, dtype=dtype or torch.bfloat16,
                              enabled=dtype is not None)

    def embed(self, inputs):
        """WindowEmbedder features of images in [0, 1] of any size
        (float32, also under ``autocast``)."""
        x = resize_images(inputs, self.embedder.image_size)
        with self.autocast_context(x.device):
            return self.embedder(self.normalize(x))

    def score(self, inputs, data_samples):
        """Image scores ``(B,)`` and patch-grid maps ``(B, h, w)``."""
        feats = self.embed(inputs)
        protos = torch.stack([self.text_prototypes(self.class_name_of(s))
                              for s in data_samples])
        image_score, amap = self.zero_shot(feats, protos)
        return image_score, amap.view(-1, *self.embedder.grid)

    # ---- mmengine interface --------------------------------------------
    def forward(self, inputs, data_samples=None, mode='predict'):
        if mode == 'loss':
            raise ConfigError(f'{type(self).__name__} is not trained: run '
                              'tools/test.py CONFIG (no checkpoint needed)')
        samples = data_samples if data_samples is not None else \
            [DataSample(metainfo=dict(ori_shape=tuple(inputs.shape[-2:])))
             for _ in range(len(inputs))]
        scores, grid_maps = self.score(inputs, samples)
        if mode == 'tensor':
            return scores, grid_maps
        if mode != 'predict':
            raise ConfigError(f"mode must be 'predict' or 'tensor', got "
                              f'{mode!r}')
        for sample, s, grid_map in zip(samples, scores, grid_maps):
            ori = tuple(sample.metainfo.get('ori_shape',
                                            inputs.shape[-2:]))[:2]
            sample.anomaly_map = F.interpolate(
                grid_map[None, None].float(), size=ori, mode='bilinear',
                align_corners=False)[0, 0].cpu()
            sample.anomaly_score = s.float().cpu()
            sample.set_pred_score(torch.stack([1 - s, s]).float().cpu())
        return samples


@MODELS.register_module()
class WinCLIPPlus(WinCLIP):
    """WinCLIP+: WinCLIP with a memory bank of ``k`` normal images.

    Patch tokens and window embeddings of the ``k`` reference images form
    the memory banks ``R_p, R_2, R_3``. A query feature scores
    ``a(f) = min_{r ∈ R} (1 - <f, r>) / 2``; window scores are
    harmonic-averaged onto patches. The few-shot map is the mean of the
    patch map and the window maps, the final map is the mean of the
    zero-shot and few-shot maps, and the image score is the mean of the
    zero-shot image score and the maximum of the few-shot map.

    The bank is built on the first prediction of each category from
    ``reference``: a dataset config (normal images, e.g. the ``train``
    split; its ``category`` defaults to the test sample's) and a ``seed``
    that fixes which ``k`` images are drawn. :meth:`set_reference_images`
    sets it directly instead.

    Args:
        k_shot (int): number of normal reference images ``k``.
        reference (dict): ``dataset`` (config) and ``seed`` (default 0).
        **kwargs: see :class:`WinCLIP`.
    """

    def __init__(self, k_shot=1, reference=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(k_shot, int) or k_shot < 1:
            raise ConfigError(f'model.k_shot must be a positive int, got '
                              f'{k_shot!r}')
        if reference is not None and 'dataset' not in reference:
            raise ConfigError('model.reference needs a `dataset` config (the '
                              'normal images to draw the k shots from)')
        self.k_shot = k_shot
        self.reference = copy.deepcopy(reference)
        self.banks = {}

    @torch.no_grad()
    def set_reference_images(self, images, category=None, batch_size=8):
        """Build the memory bank of ``category`` from normal images (a
        tensor ``(k, 3, H, W)`` or a list of ``(3, H, W)``, in [0, 1])."""
        if len(images) < self.k_shot:
            raise ConfigError(f'k_shot={self.k_shot} needs {self.k_shot} '
                              f'reference images, got {len(images)}')
        size = self.embedder.image_size
        device = self.normalize.mean.device if self.normalize.enabled \
            else next(self.clip.parameters()).device
        x = torch.stack([resize_images(img.float(), size) for img in images])
        feats = [self.embed(chunk.to(device))
                 for chunk in x.split(batch_size)]
        merged = dict(
            patches=torch.cat([f['patches'] for f in feats]),
            windows={k: torch.cat([f['windows'][k] for f in feats])
                     for k in self.embedder.scales})
        self.banks[category] = VisualMemoryBank().build(merged)

    def _load_reference(self, category):
        from rgl.datasets.anomaly import select_few_shot
        if self.reference is None:
            raise ConfigError(
                'WinCLIPPlus has no memory bank for category '
                f'{category!r}: set model.reference=dict(dataset=..., '
                'seed=0) or call set_reference_images()')
        cfg = copy.deepcopy(self.reference['dataset'])
        if category is not None and not cfg.get('category'):
            cfg['category'] = category
        dataset = DATASETS.build(cfg)
        picked = select_few_shot(dataset, self.k_shot,
                                 self.reference.get('seed', 0))
        items = [dataset[i] for i in tqdm(
            picked, desc=f'memory bank ({category})', leave=False,
            disable=not _is_main_process())]
        print_log(f'WinCLIP+ {self.k_shot}-shot references for {category}: '
                  + ', '.join(i['data_samples'].metainfo.get('img_path', '?')
                              for i in items), logger='current')
        self.set_reference_images([i['inputs'] for i in items], category)

    def bank_of(self, category):
        if category not in self.banks:
            self._load_reference(category)
        return self.banks[category]

    def few_shot(self, feats, bank):
        """Few-shot patch map ``(B, L)`` from the memory bank."""
        maps = [bank.association('patches', feats['patches'])]
        maps += [harmonic_aggregation(
            bank.association(k, feats['windows'][k]),
            self.embedder.coverage(k)) for k in self.embedder.scales]
        return torch.stack(maps).mean(0)

    def score(self, inputs, data_samples):
        feats = self.embed(inputs)
        protos = torch.stack([self.text_prototypes(self.class_name_of(s))
                              for s in data_samples])
        image_score, zero_map = self.zero_shot(feats, protos)
        categories = [s.metainfo.get('category') for s in data_samples]
        few_map = torch.empty_like(zero_map)
        for cat in dict.fromkeys(categories):  # usually one category
            rows = torch.tensor([c == cat for c in categories],
                                device=zero_map.device)
            sub = dict(patches=feats['patches'][rows],
                       windows={k: v[rows]
                                for k, v in feats['windows'].items()})
            few_map[rows] = self.few_shot(sub, self.bank_of(cat))
        amap = (zero_map + few_map) / 2
        score = (image_score + few_map.amax(1)) / 2
        return score, amap.view(-1, *self.embedder.grid)


def _is_main_process():
    from mmengine.dist import is_main_process
    return is_main_process()
