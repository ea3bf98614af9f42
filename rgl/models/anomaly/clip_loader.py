"""Build an open_clip model of the real architecture and load its weights
from a local file (never from a hub)."""
import contextlib
import logging
import os.path as osp

import torch

from rgl.utils.checkpoint import load_checkpoint_file
from rgl.utils.errors import CheckpointError, ConfigError


def _read_state_dict(path):
    if path.endswith('.safetensors'):
        if not osp.isfile(path):
            raise CheckpointError(f'checkpoint file not found: {path}')
        from safetensors.torch import load_file
        return load_file(path)
    state = load_checkpoint_file(path)
    # open_clip release files are plain state dicts; training checkpoints
    # nest them under 'state_dict' with DDP's 'module.' prefix.
    if isinstance(state, dict) and isinstance(state.get('state_dict'), dict):
        state = state['state_dict']
    if not isinstance(state, dict):
        raise CheckpointError(f'{path} does not hold a state dict')
    return {k[len('module.'):] if k.startswith('module.') else k: v
            for k, v in state.items()}


class _DropRandomInitWarning(logging.Filter):
    """open_clip warns "No pretrained weights loaded ... initialized
    randomly" when it builds a model without ``pretrained``; rgl loads the
    configured file right after, so the warning is false there."""

    def filter(self, record):
        return not record.getMessage().startswith(
            'No pretrained weights loaded')


@contextlib.contextmanager
def _quiet_random_init(active=True):
    root = logging.getLogger()  # open_clip logs through the root logger
    log_filter = _DropRandomInitWarning()
    if active:
        root.addFilter(log_filter)
    try:
        yield
    finally:
        root.removeFilter(log_filter)


def build_open_clip(model_name='ViT-B-16-plus-240', checkpoint=None,
                    model_cfg=None):
    """An eval-mode open_clip ``CLIP`` with weights from ``checkpoint``.

    Args:
        model_name (str): an open_clip architecture name
            (``open_clip.list_models()``).
        checkpoint (str, optional): local weights (``.pt``/``.bin`` state
            dict or ``.safetensors``); ``None`` keeps the random
            initialisation (tests).
        model_cfg (dict, optional): an open_clip model config
            (``embed_dim``, ``vision_cfg``, ``text_cfg``) that replaces the
            named one, e.g. a tiny architecture for tests.
    """
    import open_clip
    if model_cfg is not None:
        model = open_clip.CLIP(**model_cfg)
    else:
        if model_name not in open_clip.list_models():
            raise ConfigError(
                f'clip.model_name {model_name!r} is not an open_clip '
                'architecture (see open_clip.list_models())')
        # the warning stays true (and shown) when no checkpoint follows
        with _quiet_random_init(active=checkpoint is not None):
            model = open_clip.create_model(model_name, pretrained=None)
    if checkpoint is not None:
        state = _read_state_dict(checkpoint)
        try:
            missing, unexpected = model.load_state_dict(state, strict=False)
        except RuntimeError as err:  # shape mismatches
            raise CheckpointError(
                f'{checkpoint} does not fit open_clip {model_name!r}: '
                f'{str(err).splitlines()[-1].strip()}') from None
        # Older releases lack the non-persistent attention mask buffer.
        missing = [k for k in missing if k != 'attn_mask']
        if missing or unexpected:
            raise CheckpointError(
                f'{checkpoint} does not fit open_clip {model_name!r}: '
                f'missing {missing[:5]}, unexpected {unexpected[:5]}')
    return model.eval().requires_grad_(False)


def build_tokenizer(model_name, clip_model):
    """open_clip's tokenizer for ``model_name``; its BPE vocabulary ships
    inside the package, so this works offline. Unknown names (custom
    ``model_cfg``) use the CLIP ``SimpleTokenizer``."""
    import open_clip
    context = getattr(clip_model, 'context_length', 77)
    if model_name in open_clip.list_models():
        return open_clip.get_tokenizer(model_name, context_length=context)
    return open_clip.tokenizer.SimpleTokenizer(context_length=context)


@torch.no_grad()
def encode_text(clip_model, tokenizer, texts, batch_size=256):
    """L2-normalised text embeddings ``(len(texts), D)``."""
    device = next(clip_model.parameters()).device
    out = []
    for i in range(0, len(texts), batch_size):
        tokens = tokenizer(texts[i:i + batch_size]).to(device)
        out.append(clip_model.encode_text(tokens, normalize=True))
    return torch.cat(out)
