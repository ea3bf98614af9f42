"""Distributed runs on machines without CUDA.

mmengine 0.10.7 fails twice on a CPU-only machine under ``--launcher
pytorch``: its launcher calls ``torch.cuda.set_device(LOCAL_RANK)``, and its
DDP wrapper passes ``device_ids=[LOCAL_RANK]``, which torch rejects for CPU
modules. :func:`setup_distributed` initialises the process group itself (gloo
without CUDA, the configured backend otherwise) and switches the wrapper to
:class:`~rgl.models.wrappers.RglDistributedDataParallel`, which drops
``device_ids`` for CPU modules. mmengine's Runner then finds the process
group ready and skips its own initialisation.
"""
import contextlib

import torch

# Scoped: mmengine's Runner looks the wrapper up in the root registry.
CPU_DDP = 'rgl.RglDistributedDataParallel'


@contextlib.contextmanager
def _skip_cuda_set_device():
    original = torch.cuda.set_device
    torch.cuda.set_device = lambda *args, **kwargs: None
    try:
        yield
    finally:
        torch.cuda.set_device = original


def setup_distributed(cfg, launcher):
    """Prepare ``cfg`` (an mmengine ``Config``) for ``launcher``.

    On a machine with CUDA this changes nothing. Without CUDA and with a
    launcher other than ``'none'``, it starts a gloo process group and makes
    the runner's DDP wrapper CPU-safe, for both ``Runner``
    (``model_wrapper_cfg``) and ``FlexibleRunner`` (``strategy``).
    """
    if launcher == 'none' or torch.cuda.is_available():
        return cfg
    from mmengine.dist import init_dist, is_distributed

    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = dict(env_cfg.get('dist_cfg') or {})
    dist_cfg['backend'] = 'gloo'
    env_cfg['dist_cfg'] = dist_cfg
    if not is_distributed():
        with _skip_cuda_set_device():
            init_dist(launcher, **dist_cfg)

    if cfg.get('runner_type') == 'FlexibleRunner':
        strategy = cfg.setdefault('strategy', dict(type='DDPStrategy'))
        wrapper = dict(strategy.get('model_wrapper') or {})
        if wrapper.get('type', 'MMDistributedDataParallel') == \
                'MMDistributedDataParallel':
            wrapper['type'] = CPU_DDP
            wrapper.setdefault('broadcast_buffers', False)
        strategy['model_wrapper'] = wrapper
    else:
        wrapper = dict(cfg.get('model_wrapper_cfg') or {})
        if wrapper.get('type', 'MMDistributedDataParallel') == \
                'MMDistributedDataParallel':
            wrapper['type'] = CPU_DDP
            wrapper.setdefault('broadcast_buffers', False)
            wrapper.setdefault('find_unused_parameters',
                               cfg.get('find_unused_parameters', False))
        cfg['model_wrapper_cfg'] = wrapper
    return cfg


def init_distributed(cfg, launcher):
    """Start the process group of a tool that builds no Runner (certify,
    sample, ...): gloo without CUDA, NCCL with it. Returns ``(rank,
    world_size)``; ``(0, 1)`` for ``launcher='none'``."""
    from mmengine.dist import get_dist_info, init_dist, is_distributed
    if launcher != 'none':
        setup_distributed(cfg, launcher)  # gloo without CUDA
        if not is_distributed():
            init_dist(launcher, backend='nccl')
    return get_dist_info()


def on_rank0(fn, rank, world):
    """Run ``fn()`` on rank 0 and share how it ended with every rank.

    The tools claim their output on rank 0 (refusing another run's file)
    while the other ranks wait. Without this, a refusal on rank 0 left the
    others blocked in the next collective until its timeout (30 minutes
    under gloo). Here every rank raises the same error at once: rgl's own
    error classes come back as themselves, anything else as a
    ``RuntimeError`` naming the original type. The broadcast is also the
    barrier that follows the claim.

    Returns ``fn()``'s result on rank 0 and ``None`` on the others.
    """
    result, error = None, None
    if rank == 0:
        try:
            result = fn()
        except Exception as err:  # shared below, then re-raised
            error = err
    if world > 1 and torch.distributed.is_available() and \
            torch.distributed.is_initialized():
        box = [None if error is None else
               (type(error).__module__, type(error).__qualname__,
                str(error))]
        torch.distributed.broadcast_object_list(box, src=0)
        if rank != 0 and box[0] is not None:
            raise _rebuild_error(*box[0])
    if error is not None:
        raise error
    return result


def _rebuild_error(module, qualname, message):
    """Rank 0's error on another rank: the same rgl error class, else a
    RuntimeError that names the original type."""
    import importlib

    from rgl.utils.errors import RglError
    cls = None
    if module.startswith('rgl.') and '.' not in qualname:
        cls = getattr(importlib.import_module(module), qualname, None)
    if isinstance(cls, type) and issubclass(cls, RglError):
        return cls(f'(on rank 0) {message}')
    return RuntimeError(f'(on rank 0) {module}.{qualname}: {message}')
