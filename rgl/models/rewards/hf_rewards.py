"""Reward models loaded with transformers from local folders: PickScore
(Kirstain et al., 2023) and BLIP-2 (Li et al., 2023).

transformers is an optional dependency of these two; the folders are what
``save_pretrained`` writes (``config.json``, the weights, the tokenizer and
``preprocessor_config.json``), never a hub name.
"""
import json
import os.path as osp

import torch

from rgl.registry import MODELS
from rgl.utils.errors import CheckpointError, ConfigError
from .base import BaseRewardModel, DualEncoderReward, to_model_pixels
from .clip_score import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD


def require_local_folder(path, owner, files=('config.json', )):
    """Raise :class:`CheckpointError` naming the first missing file of a
    ``save_pretrained`` folder."""
    if path is None:
        raise ConfigError(f'{owner}: a local model folder is required '
                          '(what save_pretrained writes; no hub names)')
    if not osp.isdir(path):
        raise CheckpointError(f'{owner}: model folder not found: {path}')
    for name in files:
        if not osp.isfile(osp.join(path, name)):
            raise CheckpointError(f'{owner}: {osp.join(path, name)} is '
                                  'missing (weights not local?)')
    if not any(osp.isfile(osp.join(path, w)) for w in (
            'model.safetensors', 'pytorch_model.bin',
            'model.safetensors.index.json', 'pytorch_model.bin.index.json')):
        raise CheckpointError(f'{owner}: {path} holds no weights '
                              '(model.safetensors or pytorch_model.bin)')


def _import_transformers(owner):
    try:
        import transformers
    except ImportError:  # pragma: no cover - transformers is installed here
        raise ConfigError(f'{owner} needs the optional package '
                          '`transformers`') from None
    return transformers


def _image_settings(folder, default_size, mean, std):
    """Input side, mean and std from ``preprocessor_config.json``."""
    path = osp.join(folder, 'preprocessor_config.json')
    if not osp.isfile(path):
        return default_size, mean, std
    with open(path) as f:
        cfg = json.load(f)
    size = cfg.get('crop_size') or cfg.get('size') or default_size
    if isinstance(size, dict):
        size = size.get('height') or size.get('shortest_edge')
    return (int(size), tuple(cfg.get('image_mean', mean)),
            tuple(cfg.get('image_std', std)))


@MODELS.register_module()
class PickScore(DualEncoderReward):
    """PickScore: a CLIP-H fine-tuned on Pick-a-Pic preferences;
    ``r(x, p) = exp(t) · cos(E_I(x), E_T(p))`` with its learned scale.

    Args:
        model_path (str): local folder of the model
            (``yuvalkirstain/PickScore_v1`` saved with ``save_pretrained``).
        processor_path (str, optional): local folder with the tokenizer and
            ``preprocessor_config.json`` (the CLIP-H processor); defaults to
            ``model_path``.
        batch_size (int): images per forward pass.
    """

    def __init__(self, model_path=None, processor_path=None, batch_size=32):
        super().__init__(batch_size)
        transformers = _import_transformers('PickScore')
        require_local_folder(model_path, 'PickScore')
        processor_path = processor_path or model_path
        if not osp.isdir(processor_path):
            raise CheckpointError(f'PickScore: processor folder not found: '
                                  f'{processor_path}')
        self.model = transformers.CLIPModel.from_pretrained(
            model_path, local_files_only=True).eval().requires_grad_(False)
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(
            processor_path, local_files_only=True)
        self.image_size, self.mean, self.std = _image_settings(
            processor_path, self.model.config.vision_config.image_size,
            OPENAI_CLIP_MEAN, OPENAI_CLIP_STD)

    def encode_images(self, images):
        x = to_model_pixels(images, self.image_size, self.mean, self.std)
        out = self.model.get_image_features(pixel_values=x.to(self.device))
        return getattr(out, 'pooler_output', out)

    def encode_texts(self, texts):
        tok = self.tokenizer(list(texts), padding=True, truncation=True,
                             return_tensors='pt').to(self.device)
        out = self.model.get_text_features(**tok)
        return getattr(out, 'pooler_output', out)

    def reward_scale(self):
        return self.model.logit_scale.detach().exp().float()


@MODELS.register_module()
class BLIP2Score(BaseRewardModel):
    """BLIP-2 image-text matching as a reward.

    Args:
        model_path (str): local folder of a ``Blip2ForImageTextRetrieval``
            (e.g. ``Salesforce/blip2-itm-vit-g`` saved locally), with its
            tokenizer and ``preprocessor_config.json``.
        head (str): ``'itm'``: the matching head's probability of "match";
            ``'itc'``: the contrastive similarity of the best query token.
        batch_size (int): images per forward pass.
    """

    def __init__(self, model_path=None, head='itm', batch_size=16):
        super().__init__(batch_size)
        transformers = _import_transformers('BLIP2Score')
        if head not in ('itm', 'itc'):
            raise ConfigError(f"BLIP2Score.head must be 'itm' or 'itc'; got "
                              f'{head!r}')
        require_local_folder(model_path, 'BLIP2Score')
        self.head = head
        self.model = transformers.Blip2ForImageTextRetrieval.from_pretrained(
            model_path, local_files_only=True).eval().requires_grad_(False)
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(
            model_path, local_files_only=True)
        self.image_size, self.mean, self.std = _image_settings(
            model_path, self.model.config.vision_config.image_size,
            OPENAI_CLIP_MEAN, OPENAI_CLIP_STD)

    def score_batch(self, images, prompts):
        x = to_model_pixels(images, self.image_size, self.mean, self.std)
        tok = self.tokenizer(list(prompts), padding=True, truncation=True,
                             return_tensors='pt').to(self.device)
        out = self.model(pixel_values=x.to(self.device),
                         input_ids=tok['input_ids'],
                         attention_mask=tok['attention_mask'],
                         use_image_text_matching_head=self.head == 'itm')
        logits = out.logits_per_image
        if self.head == 'itm':  # (N, 2): [no match, match]
            return logits.softmax(-1)[:, 1]
        return torch.diagonal(logits)  # (N_img, N_text): pairs i == j
