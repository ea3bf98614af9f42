"""On-disk cache of WinCLIP's text prototypes.

Encoding the compositional prompt ensemble (242 prompts per class) takes
about a minute per class on a 2-core CPU, and the result depends only on
the text tower's weights, the tokenizer (the open_clip architecture name),
the prompts and the reduction. The cache key is a SHA-256 of exactly these:
the text tower's tensors (so a different checkpoint, or random weights,
miss), the model name, the prompt module's type and the full prompt texts
(so another class name or prompt set misses). Files are safetensors,
written to a temporary name and renamed into place (atomic), so concurrent
processes never read half a file.
"""
import hashlib
import os
import os.path as osp
import tempfile

import torch

#: Bumped when the way prototypes are computed changes.
CACHE_VERSION = 'winclip-text-v1'


def default_cache_dir():
    """``$RGL_CACHE_DIR/winclip``, else ``$XDG_CACHE_HOME/rgl/winclip``,
    else ``~/.cache/rgl/winclip``."""
    root = os.environ.get('RGL_CACHE_DIR')
    if not root:
        xdg = os.environ.get('XDG_CACHE_HOME') or osp.join(
            osp.expanduser('~'), '.cache')
        root = osp.join(xdg, 'rgl')
    return osp.join(root, 'winclip')


def text_tower_sha256(clip_model):
    """SHA-256 of every tensor of ``clip_model`` outside its image tower
    (``visual.*``): the weights the text prototypes depend on."""
    h = hashlib.sha256()
    for name, tensor in sorted(clip_model.state_dict().items()):
        if name.startswith('visual.'):
            continue
        t = tensor.detach().cpu()
        h.update(f'{name}:{t.dtype}:{tuple(t.shape)};'.encode())
        h.update(t.reshape(-1).contiguous().view(torch.uint8).numpy())
    return h.hexdigest()


def prototype_key(weights_sha256, model_name, prompt_type, prompts):
    """The cache key of one class: ``prompts`` is the list of every prompt
    text (normal then anomalous) with the split point."""
    h = hashlib.sha256(CACHE_VERSION.encode())
    for part in (weights_sha256, model_name, prompt_type):
        h.update(b'\0' + str(part).encode())
    normal, anomalous = prompts
    h.update(f'\0{len(normal)}:{len(anomalous)}'.encode())
    for text in list(normal) + list(anomalous):
        h.update(b'\0' + text.encode())
    return h.hexdigest()


class TextPrototypeCache:
    """Prototype tensors stored as ``<key>.safetensors`` in ``cache_dir``.

    Args:
        cache_dir (str): the folder (created on the first write).
    """

    def __init__(self, cache_dir):
        self.cache_dir = osp.expanduser(cache_dir)

    def path(self, key):
        return osp.join(self.cache_dir, f'{key}.safetensors')

    def load(self, key):
        """The cached tensor, or None (missing, or unreadable: rebuilt)."""
        path = self.path(key)
        if not osp.isfile(path):
            return None
        from safetensors.torch import load_file
        try:
            return load_file(path)['prototypes']
        except Exception:  # a corrupt cache entry is recomputed
            return None

    def save(self, key, prototypes, metadata=None):
        """Write atomically; a read-only cache folder only costs time."""
        from safetensors.torch import save_file
        try:
            os.makedirs(self.cache_dir, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.cache_dir, suffix='.tmp')
            os.close(fd)
            try:
                save_file({'prototypes': prototypes.detach().cpu().float()
                           .contiguous()}, tmp,
                          metadata={k: str(v) for k, v in
                                    (metadata or {}).items()})
                os.replace(tmp, self.path(key))
            finally:
                if osp.exists(tmp):
                    os.remove(tmp)
        except OSError:
            return False
        return True
