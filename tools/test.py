"""Evaluate a checkpoint: ``python tools/test.py CONFIG [CHECKPOINT]``.

The checkpoint loads strictly: a key or shape that does not match the
config's model is one error naming the file and the first keys (mmengine's
``load_from`` alone would evaluate a mismatched model silently).
``--non-strict`` loads what matches and lists what it skipped.

Multi-process: ``tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS``.
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction

from rgl.utils.checkpoint import StrictLoadHook, register_safe_globals
from rgl.utils.cli import run_cli
from rgl.utils.config import load_config, validate_config
from rgl.utils.dist import setup_distributed
from rgl.utils.errors import CheckpointError, require_keys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a model with rgl')
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'checkpoint', nargs='?', default=None,
        help='checkpoint file; omit it for models whose weights come from '
        'paths in the config (e.g. zero-shot WinCLIP)')
    parser.add_argument(
        '--non-strict', action='store_true',
        help='load a checkpoint that does not match the model: matching '
        'weights are loaded, the rest is listed and left as initialised')
    parser.add_argument('--work-dir', help='where to save logs and metrics')
    parser.add_argument('--out',
                        help='also write the metrics to a .json/.yaml file')
    parser.add_argument('--amp', action='store_true',
                        help='mixed-precision inference')
    parser.add_argument('--no-pin-memory', action='store_true')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config keys, e.g. test_dataloader.batch_size=256')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'])
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg, args):
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.checkpoint is not None and not osp.isfile(args.checkpoint):
        raise CheckpointError(f'checkpoint file not found: {args.checkpoint}')
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.amp:
        cfg.test_cfg = dict(cfg.get('test_cfg') or {}, fp16=True)
    loader = cfg.get('test_dataloader')
    if loader is not None:
        loader.setdefault('collate_fn', dict(type='pseudo_collate'))
        if args.no_pin_memory:
            loader['pin_memory'] = False
        if loader.get('num_workers', 0) == 0:
            loader['persistent_workers'] = False
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = validate_config(merge_args(load_config(args.config, False), args))
    require_keys(cfg, ['model', 'test_dataloader', 'test_evaluator'],
                 where=args.config)
    setup_distributed(cfg, args.launcher)

    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    register_safe_globals()  # the safe loader behind mmengine's load_from
    runner = (Runner.from_cfg(cfg) if 'runner_type' not in cfg else
              RUNNERS.build(cfg))
    if args.checkpoint is not None:
        runner.register_hook(StrictLoadHook(
            args.checkpoint, strict=not args.non_strict,
            hint='pass --non-strict'))
    metrics = runner.test()
    from mmengine.dist import is_main_process
    if args.out is not None and is_main_process():
        from mmengine.fileio import dump
        dump(metrics, args.out)
    return metrics


if __name__ == '__main__':
    run_cli(main)
