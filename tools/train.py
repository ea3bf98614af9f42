"""Train a config: ``python tools/train.py CONFIG [--work-dir DIR] ...``.

Multi-process: ``tools/dist_train.sh CONFIG NUM_PROCS`` (GPU or CPU/gloo).
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction

import rgl  # noqa: F401  (weights_only-safe checkpoint loading)
from rgl.engine.optimizers import CompileHook, compile_options
from rgl.utils.checkpoint import StrictLoadHook
from rgl.utils.cli import run_cli
from rgl.utils.config import (check_option_types, load_config,
                              resolve_last_checkpoint, validate_config)
from rgl.utils.dist import setup_distributed
from rgl.utils.errors import require_keys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model with rgl')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='where to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or with no value from the '
        'latest checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision (fp16 on GPU, bf16 on CPU)')
    parser.add_argument(
        '--compile', action='store_true',
        help='torch.compile the backbone, aligner projectors and frozen '
        'encoders (same as the config key compile=True)')
    parser.add_argument(
        '--non-strict', action='store_true',
        help='load `load_from` weights that only partly fit the model '
        '(skipped keys are listed); by default a mismatch is an error')
    parser.add_argument('--no-validate', action='store_true',
                        help='skip validation during training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale lr by total batch / base batch')
    parser.add_argument('--no-pin-memory', action='store_true')
    parser.add_argument('--no-persistent-workers', action='store_true')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config keys, e.g. model.num_classes=10 '
        'train_dataloader.batch_size=32')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'])
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg, args):
    """Apply the command-line flags to ``cfg`` (flags, then
    ``--cfg-options``, then ``--resume``) and check the result."""
    import torch
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper in ('OptimWrapper', 'AmpOptimWrapper',
                             'AutocastOptimWrapper'):
            if torch.cuda.is_available():
                cfg.optim_wrapper.type = 'AmpOptimWrapper'
                cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
            else:
                cfg.optim_wrapper.type = 'AutocastOptimWrapper'
                cfg.optim_wrapper.pop('loss_scale', None)
                cfg.optim_wrapper.setdefault('dtype', 'bfloat16')
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True

    def set_loader_defaults(loader):
        if loader is None:
            return
        loader.setdefault('collate_fn', dict(type='pseudo_collate'))
        if args.no_pin_memory:
            loader['pin_memory'] = False
        if args.no_persistent_workers or loader.get('num_workers', 0) == 0:
            loader['persistent_workers'] = False

    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        set_loader_defaults(cfg.get(name))
    if args.cfg_options is not None:
        check_option_types(cfg, args.cfg_options)
        cfg.merge_from_dict(args.cfg_options)
    if args.compile and not cfg.get('compile'):
        cfg.compile = True
    if args.resume == 'auto':
        # mmengine would read work_dir/last_checkpoint as an absolute path:
        # a copied work_dir must resume its own copy of the checkpoint.
        cfg.resume = True
        cfg.load_from = resolve_last_checkpoint(cfg.work_dir)
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    return validate_config(cfg)


def main(argv=None):
    args = parse_args(argv)
    cfg = merge_args(load_config(args.config, validate=False), args)
    require_keys(cfg, ['model', 'train_dataloader', 'train_cfg',
                       'optim_wrapper'], where=args.config)
    setup_distributed(cfg, args.launcher)

    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    # mmengine would torch.compile the whole train_step (preprocessor,
    # backward and optimizer included: graph breaks, slow first steps);
    # rgl compiles the compute modules instead (CompileHook).
    compile_cfg = cfg.pop('compile', None)
    compile_options(compile_cfg)  # a bad value fails before the runner
    runner = (Runner.from_cfg(cfg) if 'runner_type' not in cfg else
              RUNNERS.build(cfg))
    if compile_cfg:
        runner.register_hook(CompileHook(compile_cfg), priority='VERY_LOW')
    if cfg.get('load_from') and not cfg.get('resume'):
        # fine-tuning from `load_from`: mmengine loads it non-strictly
        runner.register_hook(StrictLoadHook(
            cfg.load_from, strict=not args.non_strict,
            hint='pass --non-strict'))
    runner.train()


if __name__ == '__main__':
    run_cli(main)
