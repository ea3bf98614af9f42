"""Sample a trained generative model into an ADM-evaluator .npz.

    python tools/sample.py CONFIG CHECKPOINT --out DIR [--num-samples 50000]
    torchrun --nproc_per_node 8 tools/sample.py CONFIG CKPT --out DIR \
        --launcher pytorch --sampler sde --num-steps 250 --cfg-scale 1.8 \
        --guidance-high 0.7                       # REPA's FID-50K protocol

Samples are made in chunks of ``--batch-size``; chunk i uses seed
``seed·1000003 + i`` for its labels and noise, so the result does not depend
on the number of processes, and finished chunks (``DIR/chunks/*.npz``) are
skipped when the command is run again after an interruption. Only the same
run is resumed: ``DIR/run_identity.json`` records the arguments below, the
merged config's hash and the checkpoint's SHA-256, and a folder of another
run is refused unless ``--overwrite`` (which deletes its samples) is given.
Rank 0 then
writes ``DIR/samples.npz`` (``arr_0``: uint8 N×H×W×3, ``arr_1``: labels,
the layout of guided-diffusion's evaluator) and ``DIR/grid.png``.
"""
import argparse
import glob
import os
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config, DictAction

import rgl  # noqa: F401  (weights_only-safe checkpoint loading)
from rgl.utils.cli import run_cli
from rgl.utils.errors import ConfigError

SAMPLERS = dict(
    sde=dict(type='SDESampler'), ode=dict(type='ODESampler', method='euler'),
    heun=dict(type='ODESampler', method='heun'), ddpm=dict(type='DDPMSampler'),
    ddim=dict(type='DDIMSampler'))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Sample a generative model')
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--out', required=True, help='output folder')
    p.add_argument('--num-samples', type=int, default=50000)
    p.add_argument('--batch-size', type=int, default=64,
                   help='samples per chunk (and per forward pass)')
    p.add_argument('--sampler', choices=sorted(SAMPLERS),
                   help='sampler family; default: the config\'s '
                   'model.sampler')
    p.add_argument('--num-steps', type=int)
    p.add_argument('--cfg-scale', type=float)
    p.add_argument('--guidance-low', type=float, default=0.0)
    p.add_argument('--guidance-high', type=float, default=1.0)
    p.add_argument('--class-balanced', action='store_true',
                   help='labels i mod K instead of uniform random (REPA)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--key', default='state_dict',
                   help='checkpoint entry with the weights (mmengine puts '
                   'the EMA weights in state_dict)')
    p.add_argument('--grid-size', type=int, default=64,
                   help='about this many images in grid.png (one column '
                   'per class for class-conditional models)')
    p.add_argument('--overwrite', action='store_true',
                   help='delete the samples of another run in --out')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    p.add_argument('--launcher', default='none',
                   choices=['none', 'pytorch', 'slurm', 'mpi'])
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return p.parse_args(argv)


def sampler_cfg(args, model):
    if args.sampler is None:
        cfg = dict(model.sampler_cfg or {})
        if not cfg:
            raise ConfigError('no sampler: pass --sampler or set '
                              'model.sampler in the config')
    else:
        cfg = dict(SAMPLERS[args.sampler])
    if args.num_steps is not None:
        cfg['num_steps'] = args.num_steps
    if args.cfg_scale is not None:
        cfg['cfg_scale'] = args.cfg_scale
    if args.guidance_low != 0.0 or args.guidance_high != 1.0:
        cfg['guidance_interval'] = (args.guidance_low, args.guidance_high)
    return cfg


def build_model(cfg, checkpoint, key):
    """The algorithm without its aligners (not used to sample), with the
    backbone's weights loaded strictly."""
    from rgl.registry import MODELS
    from rgl.utils.checkpoint import (check_state_dict, load_state_dict_file,
                                      state_dict_of)
    model_cfg = cfg.model.copy()
    model_cfg['aligners'] = None
    model = MODELS.build(model_cfg)
    state = state_dict_of(load_state_dict_file(checkpoint, key=key))
    state = {k: v for k, v in state.items() if not k.startswith('aligners.')}
    check_state_dict(model, state, checkpoint)  # one line on a mismatch
    model.load_state_dict(state, strict=True)
    return model.eval()


# arguments that define the samples (--out, --grid-size, --launcher do not)
IDENTITY_ARGS = ('num_samples', 'batch_size', 'sampler', 'num_steps',
                 'cfg_scale', 'guidance_low', 'guidance_high',
                 'class_balanced', 'seed', 'key')
OUTPUTS = ('chunks', 'samples.npz*', 'grid.png')


def claim_out_dir(args, cfg, rank, world):
    """Rank 0 starts or resumes ``--out`` (refusing another run's); the
    other ranks then check that it records this run."""
    from rgl.utils.dist import on_rank0
    from rgl.utils.run_identity import (RunIdentity, check_output,
                                        claim_output)
    identity = RunIdentity('sample', {k: getattr(args, k)
                                      for k in IDENTITY_ARGS},
                           config=cfg, checkpoint=args.checkpoint)
    # a refusal on rank 0 stops every rank
    on_rank0(lambda: claim_output(args.out, identity,
                                  overwrite=args.overwrite, folder=True,
                                  members=OUTPUTS), rank, world)
    if world > 1:
        check_output(args.out, identity, folder=True)


def to_uint8_nhwc(images):
    """[0, 1] (N, C, H, W) → uint8 (N, H, W, 3); grey is repeated."""
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    x = (images.clamp(0, 1) * 255).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


def chunk_seed(seed, index):
    return seed * 1000003 + index


def make_chunk(model, index, size, args, sampler, device):
    gen = torch.Generator().manual_seed(chunk_seed(args.seed, index))
    k = model.backbone.num_classes
    if args.class_balanced:
        labels = (torch.arange(size) + index * args.batch_size) % k
    else:
        labels = torch.randint(0, k, (size, ), generator=gen)
    images = model.sample(labels, sampler=sampler, generator=gen)
    return to_uint8_nhwc(images), labels.numpy()


def save_atomic(path, **arrays):
    tmp = path + '.tmp.npz'
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def merge(out_dir, num_chunks, grid_size, num_classes=None,
          class_names=None):
    files = [osp.join(out_dir, 'chunks', f'{i:06d}.npz')
             for i in range(num_chunks)]
    imgs, labels = [], []
    for f in files:
        with np.load(f) as d:
            imgs.append(d['arr_0'])
            labels.append(d['arr_1'])
    imgs, labels = np.concatenate(imgs), np.concatenate(labels)
    save_atomic(osp.join(out_dir, 'samples.npz'), arr_0=imgs, arr_1=labels)
    # the shared grid of GenerationEvalHook: one column per class, titled
    from rgl.visualization import grid_selection, save_sample_grid
    idx, grid_labels = grid_selection(labels, grid_size, num_classes)
    save_sample_grid(osp.join(out_dir, 'grid.png'), imgs[idx], grid_labels,
                     class_names)
    return imgs.shape


def init_distributed(launcher):
    from mmengine.dist import get_dist_info, init_dist
    if launcher != 'none':
        if 'LOCAL_RANK' not in os.environ:
            os.environ['LOCAL_RANK'] = '0'
        init_dist(launcher,
                  backend='nccl' if torch.cuda.is_available() else 'gloo')
    return get_dist_info()


def main(argv=None):
    args = parse_args(argv)
    if args.num_samples < 1 or args.batch_size < 1:
        raise ConfigError('--num-samples and --batch-size must be >= 1')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if 'model' not in cfg:
        raise ConfigError(f'{args.config} has no `model`')
    if args.launcher != 'none' and not torch.cuda.is_available():
        from rgl.utils.dist import _skip_cuda_set_device
        with _skip_cuda_set_device():
            rank, world = init_distributed(args.launcher)
    else:
        rank, world = init_distributed(args.launcher)
    device = torch.device(f'cuda:{int(os.environ.get("LOCAL_RANK", 0))}'
                          if torch.cuda.is_available() else 'cpu')
    model = build_model(cfg, args.checkpoint, args.key).to(device)
    sampler = sampler_cfg(args, model)
    claim_out_dir(args, cfg, rank, world)
    chunk_dir = osp.join(args.out, 'chunks')
    os.makedirs(chunk_dir, exist_ok=True)
    for stale in glob.glob(osp.join(chunk_dir, '*.tmp.npz')):
        if rank == 0:
            os.remove(stale)  # a chunk cut off mid-write
    num_chunks = -(-args.num_samples // args.batch_size)
    mine = [i for i in range(rank, num_chunks, world)
            if not osp.exists(osp.join(chunk_dir, f'{i:06d}.npz'))]
    if rank == 0:
        done = sum(osp.exists(osp.join(chunk_dir, f'{i:06d}.npz'))
                   for i in range(num_chunks))
        print(f'sampling {args.num_samples} images in {num_chunks} chunks '
              f'({done} already done) with {sampler}', flush=True)
    iterator = mine
    if rank == 0:
        from tqdm import tqdm
        iterator = tqdm(mine, desc='chunks (rank 0)')
    for i in iterator:
        size = min(args.batch_size, args.num_samples - i * args.batch_size)
        imgs, labels = make_chunk(model, i, size, args, sampler, device)
        save_atomic(osp.join(chunk_dir, f'{i:06d}.npz'), arr_0=imgs,
                    arr_1=labels)
    if world > 1:
        torch.distributed.barrier()
    if rank == 0:
        from rgl.visualization import dataset_class_names
        names = dataset_class_names(
            (cfg.get('train_dataloader') or {}).get('dataset') or {})
        shape = merge(args.out, num_chunks, args.grid_size,
                      model.backbone.num_classes, names)
        print(f'wrote {osp.join(args.out, "samples.npz")} arr_0 {shape} '
              f'and grid.png', flush=True)


if __name__ == '__main__':
    run_cli(main)
