"""Sample a trained CLEL (or EBM) by SGLD into an ADM-evaluator .npz.

    python tools/clel/sample.py CONFIG CHECKPOINT --out DIR \
        [--num-samples 50000] [--batch-size 512] [--num-steps 600] \
        [--classes 3 7 --guidance-scale 1.0 [--compose]] \
        [--fd-encoder configs/repa/encoders/mae_vit-tiny-p4_digits_encoder.py]

Every chain starts from U[0, 1] and runs ``--num-steps`` SGLD steps (the
config's sampler by default; the paper evaluates 10 passes of 60 steps)
with the EMA weights mmengine stores in ``state_dict``. Sample i draws its
start and its noise from (``--seed``, i), so the images do not depend on
``--batch-size`` or on a resume.

Conditional generation (``--classes``) adds the latent guidance
−γ·cos(z(x), y_k) to the energy, y_k the mean guide latent of class k's
training images (γ = ``--guidance-scale``); sample i gets class
``classes[i mod K]``, or all of them at once with ``--compose``
(composition: the sum of the guidance terms).

Chunks are written to ``DIR/chunks``; a rerun skips finished ones, and only
the same run resumes (``DIR/run_identity.json``; ``--overwrite`` replaces
another run's samples). ``DIR/samples.npz`` (``arr_0`` uint8 N×H×W×3,
``arr_1`` labels, −1 when unconditional) and ``DIR/grid.png`` follow; score
them with tools/evaluate_generation.py (Inception FID), or pass
``--fd-encoder`` for the Fréchet distance in an rgl encoder's space against
the config's training set (``DIR/scores.json``).
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from rgl.utils.cli import run_cli  # noqa: E402
from rgl.utils.errors import ConfigError  # noqa: E402

IDENTITY_ARGS = ('num_samples', 'batch_size', 'num_steps', 'step_size',
                 'noise', 'seed', 'key', 'classes', 'guidance_scale',
                 'compose')
OUTPUTS = ('chunks', 'samples.npz*', 'grid.png', 'scores.json')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--out', required=True, help='output folder')
    p.add_argument('--num-samples', type=int, default=50000)
    p.add_argument('--batch-size', type=int, default=512)
    p.add_argument('--num-steps', type=int,
                   help='SGLD steps per chain (default: the config\'s)')
    p.add_argument('--step-size', type=float)
    p.add_argument('--noise', type=float)
    p.add_argument('--classes', type=int, nargs='+',
                   help='condition on these classes by latent guidance')
    p.add_argument('--guidance-scale', type=float, default=1.0)
    p.add_argument('--compose', action='store_true',
                   help='guide every sample towards all --classes at once')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--key', default='state_dict',
                   help='checkpoint entry (mmengine stores the EMA weights '
                   'in state_dict)')
    p.add_argument('--grid-size', type=int, default=64)
    p.add_argument('--fd-encoder',
                   help='config file with an `encoder` (rgl encoder) for '
                   'the Fréchet distance against the training set')
    p.add_argument('--device', default=None,
                   help='default: cuda when available')
    p.add_argument('--overwrite', action='store_true')
    p.add_argument('--cfg-options', nargs='+', action=_dict_action())
    return p.parse_args(argv)


def _dict_action():
    from mmengine.config import DictAction
    return DictAction


def load_model(cfg, checkpoint, key, device):
    """CLEL from the config, weights loaded strictly from ``checkpoint``."""
    from rgl.registry import MODELS
    from rgl.utils.checkpoint import (check_state_dict, load_state_dict_file,
                                      state_dict_of)
    model = MODELS.build(cfg.model)
    state = state_dict_of(load_state_dict_file(checkpoint, key=key))
    check_state_dict(model, state, checkpoint)
    model.load_state_dict(state, strict=True)
    model.to(device).eval()
    model.refresh_spectral_norm()
    model.eval()
    return model


def sampler_cfg(model, args):
    cfg = dict(model.sampler_cfg)
    for arg, key in (('num_steps', 'num_steps'), ('step_size', 'step_size'),
                     ('noise', 'noise')):
        if getattr(args, arg) is not None:
            cfg[key] = getattr(args, arg)
    return cfg


def class_targets(model, cfg, classes, device):
    """Guide prototypes (K, D) of ``classes`` from the training set."""
    from rgl.registry import DATASETS
    if model.guide is None:
        raise ConfigError('--classes needs a model with a latent guide '
                          '(model.guide is None)')
    data = DATASETS.build(cfg.train_dataloader.dataset)
    images = torch.stack([torch.as_tensor(data[i]['inputs'])
                          for i in range(len(data))])
    labels = torch.as_tensor([int(data.get_label(i))
                              for i in range(len(data))])
    images = images.float() / 255 if images.dtype == torch.uint8 else images
    with torch.no_grad():
        feats = torch.cat([
            model.latent(images[i:i + 512].to(device))
            for i in range(0, len(images), 512)])
    protos = model.latent_prototypes_from(feats, labels,
                                          int(labels.max()) + 1)
    return protos[torch.as_tensor(classes, device=device)]


def make_chunk(model, start, size, args, sampler, targets):
    ids = torch.arange(start, start + size)
    labels = torch.full((size, ), -1, dtype=torch.int64)
    energy_fn = None
    if targets is not None:
        k = len(args.classes)
        if args.compose:
            t = targets[None].expand(size, -1, -1)
            w = torch.full((k, ), args.guidance_scale, device=t.device)
        else:
            pick = (ids % k).to(targets.device)
            t = targets[pick][:, None]
            w = torch.full((1, ), args.guidance_scale, device=t.device)
            labels = torch.as_tensor(args.classes)[ids % k]
        energy_fn = model.guided_energy(t, w)
    x = model.generate(ids.to(model.buffer.images.device), seed=args.seed,
                       sampler=sampler, energy_fn=energy_fn)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    imgs = (x.clamp(0, 1) * 255).round().to(torch.uint8)
    return imgs.permute(0, 2, 3, 1).cpu().numpy(), labels.numpy()


def save_atomic(path, **arrays):
    tmp = path + '.tmp.npz'
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def encoder_fd(cfg, enc_cfg_path, imgs):
    """Fréchet distance of the samples to the training set in the
    encoder's feature space (rgl.evaluation.generation)."""
    from mmengine.config import Config

    from rgl.evaluation.generation import encoder_frechet_distance
    from rgl.registry import DATASETS, MODELS
    enc = MODELS.build(Config.fromfile(enc_cfg_path).encoder).eval()
    data = DATASETS.build(cfg.train_dataloader.dataset)
    real = torch.stack([torch.as_tensor(data[i]['inputs'])
                        for i in range(len(data))])
    fake = torch.from_numpy(imgs).permute(0, 3, 1, 2)[:, :real.shape[1]]
    return float(encoder_frechet_distance(enc, real, fake))


def main(argv=None):
    from rgl.utils.config import load_config
    from rgl.utils.run_identity import RunIdentity, claim_output
    args = parse_args(argv)
    if args.num_samples < 1 or args.batch_size < 1:
        raise ConfigError('--num-samples and --batch-size must be >= 1')
    cfg = load_config(args.config, args.cfg_options)
    if 'model' not in cfg:
        raise ConfigError(f'{args.config} has no `model`')
    device = torch.device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    model = load_model(cfg, args.checkpoint, args.key, device)
    sampler = sampler_cfg(model, args)
    from rgl.registry import SAMPLERS
    SAMPLERS.build(sampler)  # validate (step size > 0, ...) before writing
    identity = RunIdentity('clel_sample',
                           {k: getattr(args, k) for k in IDENTITY_ARGS},
                           config=cfg, checkpoint=args.checkpoint)
    claim_output(args.out, identity, overwrite=args.overwrite, folder=True,
                 members=OUTPUTS)
    chunk_dir = osp.join(args.out, 'chunks')
    os.makedirs(chunk_dir, exist_ok=True)
    for stale in glob.glob(osp.join(chunk_dir, '*.tmp.npz')):
        os.remove(stale)
    targets = (class_targets(model, cfg, args.classes, device)
               if args.classes else None)
    num_chunks = -(-args.num_samples // args.batch_size)
    todo = [i for i in range(num_chunks)
            if not osp.exists(osp.join(chunk_dir, f'{i:06d}.npz'))]
    print(f'sampling {args.num_samples} images in {num_chunks} chunks '
          f'({num_chunks - len(todo)} already done) with {sampler}',
          flush=True)
    from tqdm import tqdm
    for i in tqdm(todo, desc='chunks'):
        start = i * args.batch_size
        size = min(args.batch_size, args.num_samples - start)
        imgs, labels = make_chunk(model, start, size, args, sampler,
                                  targets)
        save_atomic(osp.join(chunk_dir, f'{i:06d}.npz'), arr_0=imgs,
                    arr_1=labels)
    imgs, labels = [], []
    for i in range(num_chunks):
        with np.load(osp.join(chunk_dir, f'{i:06d}.npz')) as d:
            imgs.append(d['arr_0'])
            labels.append(d['arr_1'])
    imgs, labels = np.concatenate(imgs), np.concatenate(labels)
    save_atomic(osp.join(args.out, 'samples.npz'), arr_0=imgs, arr_1=labels)
    from rgl.visualization import save_sample_grid
    n = min(args.grid_size, len(imgs))
    save_sample_grid(osp.join(args.out, 'grid.png'), imgs[:n])
    print(f'wrote {osp.join(args.out, "samples.npz")} arr_0 {imgs.shape} '
          'and grid.png', flush=True)
    if args.fd_encoder:
        fd = encoder_fd(cfg, args.fd_encoder, imgs)
        with open(osp.join(args.out, 'scores.json'), 'w') as f:
            json.dump(dict(fd_encoder=fd, encoder=args.fd_encoder,
                           num_samples=len(imgs)), f, indent=1)
        print(f'FD_enc {fd:.4f}', flush=True)


if __name__ == '__main__':
    run_cli(main)
