"""Pre-extract VAE latent moments (and optionally encoder features) of an
image folder into resumable shards for latent diffusion training.

    python tools/extract_latents.py DATA_ROOT OUT --vae PATH \
        [--split train] [--resolution 256] [--flip] [--save-images] \
        [--encoder configs/repa/encoders/<encoder>.py ...] \
        [--shard-size 1000] [--batch-size 32] [--device cuda]
    torchrun --nproc_per_node 8 tools/extract_latents.py ... --launcher pytorch

Images are read with rgl's ImageFolderDataset and centre-cropped as ADM
does (box-halving, bicubic resize, centre crop), then encoded in [-1, 1] by
the AutoencoderKL at ``--vae`` (a local diffusers folder or file). Each
shard stores cat(μ, σ) of q(z|x); LatentDataset draws z = s·(μ + σε) per
access. Shard i holds images [i·S, (i+1)·S); rank r writes the shards
i ≡ r (mod world size). A shard is written atomically and skipped when it
is already complete, so a killed run re-run with the same arguments
continues where it stopped. Only the same run is continued:
``OUT/run_identity.json`` records the options, the VAE's SHA-256 and the
encoder configs' hashes, and a folder of another extraction is refused
unless ``--overwrite`` (which deletes its shards) is given. ``index.json``
is written last.
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from rgl.utils.cli import run_cli  # noqa: E402
from rgl.datasets.latents import adm_center_crop, load_crop  # noqa: E402,F401
from rgl.utils.errors import ConfigError, DataError  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('data_root', help='image folder (root/<class>/<img>)')
    p.add_argument('out', help='output latent folder')
    p.add_argument('--vae', required=True,
                   help='local diffusers AutoencoderKL folder or file '
                   '(e.g. sd-vae-ft-mse)')
    p.add_argument('--vae-config', help='config.json for a single file')
    p.add_argument('--split', help="sub-folder of DATA_ROOT, e.g. 'train'")
    p.add_argument('--resolution', type=int, default=256)
    p.add_argument('--flip', action='store_true',
                   help='also store the latents of the flipped image')
    p.add_argument('--save-images', action='store_true',
                   help='store the uint8 crops (for on-the-fly encoders)')
    p.add_argument('--encoder', action='append', default=[],
                   help='config file with an `encoder` dict; its tokens '
                   'are stored as features.<file stem>')
    p.add_argument('--shard-size', type=int, default=1000)
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--device', default=None)
    p.add_argument('--overwrite', action='store_true',
                   help='delete the shards of another extraction in OUT')
    p.add_argument('--launcher', choices=['none', 'pytorch'],
                   default='none')
    return p.parse_args(argv)


def init_dist(launcher):
    import torch
    import torch.distributed as dist
    if launcher == 'none':
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group(
            'nccl' if torch.cuda.is_available() else 'gloo')
    return dist.get_rank(), dist.get_world_size()


def build_encoders(paths):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from rgl.registry import MODELS
    encoders = {}
    for path in paths:
        if not osp.isfile(path):
            raise ConfigError(f'--encoder: no config file {path}')
        cfg = Config.fromfile(path)
        if 'encoder' not in cfg:
            raise ConfigError(f'--encoder {path} has no `encoder` dict')
        with DefaultScope.overwrite_default_scope('rgl'):
            encoders[osp.splitext(osp.basename(path))[0]] = MODELS.build(
                cfg.encoder)
    return encoders


# what the extraction writes into OUT (--overwrite removes exactly these)
OUTPUTS = ('shard_*.pt', 'shard_*.pt.tmp*', 'index.json')


def run_identity(args, num_images):
    """The options that define the shards, the VAE's SHA-256 and the hash of
    each --encoder config (not --batch-size, --device or --launcher)."""
    from rgl.utils.run_identity import (RunIdentity, config_sha256,
                                        file_sha256)
    return RunIdentity(
        'extract_latents',
        dict(data_root=osp.abspath(args.data_root), split=args.split,
             num_images=num_images, resolution=args.resolution,
             flip=args.flip, save_images=args.save_images,
             shard_size=args.shard_size,
             encoders={osp.splitext(osp.basename(p))[0]: config_sha256(p)
                       for p in args.encoder},
             vae_config=(None if args.vae_config is None else
                         file_sha256(args.vae_config))),
        checkpoint=args.vae)


def claim_out(args, identity, rank, world):
    """Rank 0 starts or resumes OUT (refusing another extraction's); the
    other ranks check that it records this run."""
    from rgl.utils.dist import on_rank0
    from rgl.utils.run_identity import check_output, claim_output
    # a refusal on rank 0 stops every rank
    on_rank0(lambda: claim_output(args.out, identity,
                                  overwrite=args.overwrite, folder=True,
                                  members=OUTPUTS), rank, world)
    if rank != 0:
        check_output(args.out, identity, folder=True)


def is_complete(path, count):
    from rgl.datasets.latents import read_shard
    if not osp.isfile(path):
        return False
    try:
        return len(read_shard(path)['moments']) == count
    except DataError:
        return False  # a corrupted shard is redone


def extract_shard(samples, vae, encoders, args, device):
    import torch
    from tqdm import tqdm  # noqa: F401  (outer bar shows progress)
    out = {'moments': [], 'labels': [], 'images': [], 'moments_flip': []}
    feats = {f'features.{n}': [] for n in encoders}
    feats.update({f'features_flip.{n}': [] for n in encoders} if args.flip
                 else {})
    for i in range(0, len(samples), args.batch_size):
        batch = samples[i:i + args.batch_size]
        imgs = torch.stack([load_crop(p, args.resolution) for p, _ in batch])
        x = imgs.to(device).float() / 255
        views = [('', x)] + ([('_flip', x.flip(-1))] if args.flip else [])
        for suffix, view in views:
            mean, std = vae.encode_moments(view)
            out['moments' + suffix].append(torch.cat([mean, std], 1).cpu())
            for name, enc in encoders.items():
                feats[f'features{suffix}.{name}'].append(
                    enc(view).to(torch.float16).cpu())
        out['labels'].append(torch.tensor([lbl for _, lbl in batch]))
        if args.save_images:
            out['images'].append(imgs)
    result = {k: torch.cat(v) for k, v in out.items() if v}
    result.update({k: torch.cat(v) for k, v in feats.items()})
    return result


def main(argv=None):
    import torch
    import torch.distributed as dist
    from tqdm import tqdm

    from rgl.datasets import ImageFolderDataset
    from rgl.datasets.latents import INDEX_FILE, shard_name, write_shard
    from rgl.registry import MODELS
    args = parse_args(argv)
    if args.shard_size < 1 or args.batch_size < 1:
        raise ConfigError('--shard-size and --batch-size must be positive')
    rank, world = init_dist(args.launcher)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if device == 'cuda' and world > 1:
        device = f'cuda:{int(os.environ.get("LOCAL_RANK", rank))}'
    dataset = ImageFolderDataset(args.data_root, split=args.split)
    samples = dataset.samples
    vae = MODELS.build(dict(type='AutoencoderKL', pretrained=args.vae,
                            config=args.vae_config)).to(device)
    encoders = {n: e.to(device) for n, e in build_encoders(
        args.encoder).items()}
    meta = dict(num_images=len(samples), resolution=args.resolution,
                shard_size=args.shard_size, flip=args.flip,
                images=args.save_images, features=sorted(encoders),
                vae=osp.abspath(args.vae),
                data_root=osp.abspath(args.data_root), split=args.split)
    claim_out(args, run_identity(args, len(samples)), rank, world)
    starts = list(range(0, len(samples), args.shard_size))
    mine = [i for i in range(len(starts)) if i % world == rank]
    todo = [i for i in mine if not is_complete(
        osp.join(args.out, shard_name(i)),
        len(samples[starts[i]:starts[i] + args.shard_size]))]
    if rank == 0 and len(todo) < len(mine):
        print(f'resuming: {len(mine) - len(todo)} of this rank\'s '
              f'{len(mine)} shards are already complete')
    for i in tqdm(todo, desc=f'latents (rank {rank})', disable=rank != 0):
        chunk = samples[starts[i]:starts[i] + args.shard_size]
        tensors = extract_shard(chunk, vae, encoders, args, device)
        tensors['indices'] = torch.arange(starts[i], starts[i] + len(chunk))
        write_shard(osp.join(args.out, shard_name(i)), tensors)
    if world > 1 and dist.is_initialized():
        dist.barrier()  # every rank's shards exist before the index
    if rank == 0:
        counts = [len(samples[s:s + args.shard_size]) for s in starts]
        index = dict(meta, counts=counts, classes=list(dataset.classes),
                     scaling_factor=vae.scaling_factor,
                     shift_factor=vae.shift_factor,
                     latent_channels=vae.latent_channels,
                     latent_size=args.resolution // vae.downsample)
        with open(osp.join(args.out, INDEX_FILE), 'w') as f:
            json.dump(index, f, indent=2)
        print(f'wrote {len(samples)} latents in {len(counts)} shards to '
              f'{args.out}')
    if world > 1 and dist.is_initialized():
        dist.destroy_process_group()


if __name__ == '__main__':
    run_cli(main)
