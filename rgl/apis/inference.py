from mmengine.config import Config
from mmengine.registry import DefaultScope

from rgl.registry import MODELS
from rgl.utils.checkpoint import load_model_weights
from rgl.utils.errors import require_keys


def init_model(config, checkpoint=None, device='cpu', cfg_options=None,
               strict=True):
    """Build the ``model`` of a config and load weights from a local file.

    Args:
        config (str | Config): a config file or object.
        checkpoint (str, optional): a checkpoint saved by rgl/mmengine
            (``state_dict``) or a plain state dict, loaded with
            ``weights_only=True``.
        device (str): where to put the model.
        cfg_options (dict, optional): overrides merged into the config.
        strict (bool): every key and shape of the checkpoint must match the
            model, else :class:`~rgl.utils.errors.CheckpointError` names the
            file and the first mismatched keys. ``strict=False`` loads what
            matches and warns with what was skipped.

    Returns:
        nn.Module: the model in eval mode, with ``model.cfg`` set.
    """
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    require_keys(cfg, ['model'], where=getattr(cfg, 'filename', 'config'))
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope',
                                                      'rgl')):
        model = MODELS.build(cfg.model)
    if checkpoint is not None:
        load_model_weights(model, checkpoint, strict=strict,
                           hint='pass strict=False to init_model')
    model.cfg = cfg
    return model.to(device).eval()
