"""ImageReward's network (Xu et al., 2023) on transformers' BLIP modules.

``r(x, p) = (MLP(h_[CLS](p | ViT(x))) - μ) / σ``: a BLIP ViT encodes the
image ``x`` into tokens, a BERT text encoder with cross-attention to those
tokens reads the prompt ``p``, the first ([CLS]) output ``h_[CLS]`` goes
through a five-layer linear MLP, and the score is standardised with the
released constants ``μ, σ``.

The parts are transformers' BLIP ports: ``BlipVisionModel`` (the same
pre-norm ViT as BLIP's ``vit.py``: qkv in one linear, LayerNorm eps 1e-6,
final LayerNorm) and ``BlipTextModel`` with ``is_decoder=True`` at build
time so that every layer has its cross-attention (keys/values of width
``encoder_hidden_size`` = the ViT width, as BLIP sets ``encoder_width``).
It is called bidirectionally (``is_decoder=False`` in forward), as
ImageReward calls BLIP's ``BertModel`` in its default ``multimodal`` mode.
The official checkpoint layout is converted in
:mod:`rgl.models.rewards.image_reward_convert`.
"""
import os.path as osp

import torch
import torch.nn as nn

from rgl.utils.errors import CheckpointError, ConfigError
from rgl.utils.json_io import read_json_object

# ImageReward.py of THUDM/ImageReward: self.mean / self.std of the release.
REWARD_MEAN = 0.16717362830052426
REWARD_STD = 1.0333394966054072

# BLIP's create_vit('large', 224): ViT-L/16 at 224 px.
VIT_LARGE = dict(width=1024, depth=24, heads=16, image_size=224,
                 patch_size=16, mlp_ratio=4.0)

# The released med_config.json (BERT-base plus two added tokens, [DEC] and
# [ENC], hence 30524 words), used when no file is given.
MED_CONFIG = dict(hidden_size=768, num_hidden_layers=12,
                  num_attention_heads=12, intermediate_size=3072,
                  vocab_size=30524, max_position_embeddings=512,
                  hidden_act='gelu', layer_norm_eps=1e-12, pad_token_id=0,
                  hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)

# The reward head's hidden widths (ImageReward.MLP); no activations between
# the linears (the ReLUs are commented out in the release), dropouts after
# the first three.
MLP_WIDTHS = (1024, 128, 64, 16, 1)
MLP_DROPOUTS = (0.2, 0.2, 0.1)


def load_med_config(path=None):
    """The text encoder's BERT config: the official ``med_config.json``
    (a local file) or, with ``path=None``, its released values."""
    if path is None:
        return dict(MED_CONFIG)
    if not osp.isfile(path):
        raise CheckpointError(f'ImageReward med_config file not found: '
                              f'{path}')
    cfg = read_json_object(path, 'ImageReward med_config',
                           'a med_config must be a JSON object',
                           error=ConfigError)
    missing = [k for k in ('hidden_size', 'num_hidden_layers',
                           'num_attention_heads', 'intermediate_size',
                           'vocab_size', 'max_position_embeddings')
               if k not in cfg]
    if missing:
        raise ConfigError(f'{path}: med_config lacks {missing}')
    if cfg.get('add_cross_attention') is False:
        raise ConfigError(f'{path}: add_cross_attention is false; '
                          'ImageReward needs the cross-attention layers')
    out = dict(MED_CONFIG)
    out.update({k: cfg[k] for k in MED_CONFIG if k in cfg})
    return out


def vision_config(vision=None):
    """``BlipVisionConfig`` of BLIP's ViT (ViT-L/16 at 224 by default);
    ``vision`` overrides ``width``, ``depth``, ``heads``, ``image_size``,
    ``patch_size`` or ``mlp_ratio`` (tests use tiny ones)."""
    from transformers import BlipVisionConfig
    cfg = dict(VIT_LARGE)
    unknown = sorted(set(vision or {}) - set(cfg))
    if unknown:
        raise ConfigError(f'ImageReward vision config: unknown keys '
                          f'{unknown} (allowed: {sorted(cfg)})')
    cfg.update(vision or {})
    return BlipVisionConfig(
        hidden_size=cfg['width'], num_hidden_layers=cfg['depth'],
        num_attention_heads=cfg['heads'], image_size=cfg['image_size'],
        patch_size=cfg['patch_size'],
        intermediate_size=int(cfg['width'] * cfg['mlp_ratio']),
        hidden_act='gelu', layer_norm_eps=1e-6, attention_dropout=0.0)


def text_config(med, encoder_width):
    """``BlipTextConfig`` of BLIP's cross-attention BERT (``med`` as from
    :func:`load_med_config`); ``is_decoder=True`` only makes transformers
    build the cross-attention layers."""
    from transformers import BlipTextConfig
    return BlipTextConfig(
        vocab_size=med['vocab_size'], hidden_size=med['hidden_size'],
        encoder_hidden_size=encoder_width,
        intermediate_size=med['intermediate_size'],
        num_hidden_layers=med['num_hidden_layers'],
        num_attention_heads=med['num_attention_heads'],
        max_position_embeddings=med['max_position_embeddings'],
        hidden_act=med['hidden_act'], layer_norm_eps=med['layer_norm_eps'],
        hidden_dropout_prob=med['hidden_dropout_prob'],
        attention_probs_dropout_prob=med['attention_probs_dropout_prob'],
        pad_token_id=med['pad_token_id'], bos_token_id=None,
        eos_token_id=None, sep_token_id=None, is_decoder=True)


def reward_mlp(in_features):
    """ImageReward's head, with the release's module indices (linears at
    0, 2, 4, 6, 7 of ``layers``)."""
    mods, width = [], in_features
    for i, out in enumerate(MLP_WIDTHS):
        mods.append(nn.Linear(width, out))
        if i < len(MLP_DROPOUTS):
            mods.append(nn.Dropout(MLP_DROPOUTS[i]))
        width = out
    head = nn.Module()
    head.layers = nn.Sequential(*mods)
    return head


class ImageRewardNet(nn.Module):
    """BLIP ViT + cross-attention BERT + MLP head.

    ``vision_proj`` and ``text_proj`` (BLIP's contrastive projections to
    256-d) are part of the released state dict but not of the reward; they
    are kept so that the checkpoint loads strictly, key for key.

    Args:
        med (dict): text encoder config (:func:`load_med_config`).
        vision (dict, optional): ViT overrides (:func:`vision_config`).
        embed_dim (int): width of the unused contrastive projections.
        mean (float): ``μ`` of the standardisation.
        std (float): ``σ`` of the standardisation.
    """

    def __init__(self, med=None, vision=None, embed_dim=256,
                 mean=REWARD_MEAN, std=REWARD_STD):
        super().__init__()
        from transformers import BlipTextModel, BlipVisionModel
        med = dict(MED_CONFIG) if med is None else med
        vcfg = vision_config(vision)
        self.visual_encoder = BlipVisionModel(vcfg)
        self.text_encoder = BlipTextModel(
            text_config(med, vcfg.hidden_size), add_pooling_layer=False)
        self.vision_proj = nn.Linear(vcfg.hidden_size, embed_dim)
        self.text_proj = nn.Linear(med['hidden_size'], embed_dim)
        self.mlp = reward_mlp(med['hidden_size'])
        self.image_size = vcfg.image_size
        self.mean, self.std = float(mean), float(std)

    def image_tokens(self, pixels):
        """The ViT's output tokens ``(N, 1 + HW/P², D)``."""
        return self.visual_encoder(pixel_values=pixels).last_hidden_state

    def features(self, pixels, input_ids, attention_mask,
                 image_tokens=None):
        """``h_[CLS]``: the text encoder's first output, attending to the
        prompt (self-attention, padding masked) and to all image tokens
        (cross-attention). ``image_tokens`` (from :meth:`image_tokens`)
        skips the ViT."""
        if image_tokens is None:
            image_tokens = self.image_tokens(pixels)
        out = self.text_encoder(
            input_ids=input_ids, attention_mask=attention_mask,
            encoder_hidden_states=image_tokens, is_decoder=False)
        return out.last_hidden_state[:, 0]

    def raw_reward(self, pixels, input_ids, attention_mask,
                   image_tokens=None):
        """The MLP's output before standardisation, ``(N,)``."""
        h = self.features(pixels, input_ids, attention_mask, image_tokens)
        return self.mlp.layers(h.float()).squeeze(-1)

    def forward(self, pixels, input_ids, attention_mask, image_tokens=None):
        """``(raw - μ) / σ``, ``(N,)``."""
        raw = self.raw_reward(pixels, input_ids, attention_mask,
                              image_tokens)
        return (raw - self.mean) / self.std


def build_tokenizer(folder, max_length=35):
    """BLIP's BERT tokenizer from a local ``bert-base-uncased`` folder
    (``vocab.txt``, or a ``tokenizer.json`` snapshot), with BLIP's two added
    tokens ``[DEC]`` (bos) and ``[ENC]`` so that ids match the release's
    30524-word embedding."""
    if folder is None:
        raise ConfigError('ImageRewardScore.tokenizer is required: a local '
                          'bert-base-uncased folder with vocab.txt (no hub '
                          'download)')
    if not osp.isdir(folder) or not any(
            osp.isfile(osp.join(folder, name))
            for name in ('vocab.txt', 'tokenizer.json')):
        raise CheckpointError(f'ImageReward tokenizer folder {folder} has no '
                              'vocab.txt or tokenizer.json')
    from transformers import BertTokenizer
    try:
        tok = BertTokenizer.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as err:
        raise CheckpointError(f'{folder}: cannot load a BERT tokenizer '
                              f'({str(err).splitlines()[0]})') from None
    tok.add_special_tokens({'bos_token': '[DEC]'})
    tok.add_special_tokens({'additional_special_tokens': ['[ENC]']})
    tok.model_max_length = max_length
    return tok


@torch.no_grad()
def tokenize(tokenizer, prompts, max_length=35):
    """ImageReward's text input: padded to ``max_length`` (35) and
    truncated, with [CLS] first. The release does not swap [CLS] for
    [ENC] (``ImageReward.score`` passes ``input_ids`` unchanged)."""
    enc = tokenizer(list(prompts), padding='max_length', truncation=True,
                    max_length=max_length, return_tensors='pt')
    return enc['input_ids'], enc['attention_mask']
