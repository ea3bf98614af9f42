"""Collaborative score distillation (CSD-Edit): edit images consistently.

    python tools/csd/edit.py CONFIG --out DIR [--inputs IMG|DIR ...]
        [--tgt-prompt TEXT] [--src-prompt TEXT] [--pipeline DIR]
        [--no-svgd] [--num-steps N] [--seed S] [--device cuda]
        [--cfg-options ...] [--overwrite]

The config's ``task`` chooses the particles:

- ``images``: a set of images, each one particle;
- ``video``: the frames of a video (a folder of frames), each one particle;
- ``panorama``: one wide image whose latent is cut into overlapping
  ``window × window`` views (stride ``stride``); each step scores a random
  batch of ``batch`` views and averages their gradients where they overlap.
  A list of target prompts (``data.tgt_prompt``, or ``--tgt-prompt`` given
  several times) edits left-to-right regions: each view mixes the prompts
  around its centre (``region_weights``).

The target latents start at the source latents and are optimised with SGD
and StepLR (``model`` holds the recipe). Every ``--save-interval`` steps the
state goes to ``DIR/state.pt``; running the same command again resumes from
it, and because t, the window batches and each particle's noise are drawn
from (seed, step, particle), a resumed run equals an uninterrupted one.
``DIR/run_identity.json`` records the run (arguments, merged config hash,
pipeline folder hash); another run's folder is refused unless
``--overwrite``. Outputs: ``DIR/source/*.png``, ``DIR/edited/*.png``,
``DIR/gallery.png`` (sources above edits) and, for video, ``DIR/edited.gif``
(and ``DIR/edited.mp4`` when imageio can write it).
"""
import argparse
import glob
import os
import os.path as osp

import numpy as np
import torch
from mmengine.config import DictAction

from rgl.utils.cli import run_cli
from rgl.utils.errors import ConfigError, DataError

TASKS = ('images', 'video', 'panorama')
IMAGE_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.webp')
OUTPUTS = ('state.pt*', 'source', 'edited', 'gallery.png', 'edited.gif',
           'edited.mp4')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='CSD editing')
    p.add_argument('config')
    p.add_argument('--out', required=True, help='output folder')
    p.add_argument('--inputs', nargs='+',
                   help='image files or folders (default: data.inputs)')
    p.add_argument('--tgt-prompt', nargs='+',
                   help='default: data.tgt_prompt; several for region-wise '
                   'prompts (panorama) or one per image')
    p.add_argument('--src-prompt', help='default: data.src_prompt')
    p.add_argument('--pipeline', help='local diffusers pipeline folder '
                   '(default: model.score_source.pretrained)')
    p.add_argument('--no-svgd', action='store_true',
                   help='independent score distillation (no SVGD)')
    p.add_argument('--num-steps', type=int)
    p.add_argument('--seed', type=int)
    p.add_argument('--save-interval', type=int, default=20,
                   help='steps between saved states (resume points)')
    p.add_argument('--stop-at', type=int,
                   help='stop after this many steps in total, saving the '
                   'state (time-limited jobs); run again to resume')
    p.add_argument('--device', default=None,
                   help='default: cuda when available, else cpu')
    p.add_argument('--overwrite', action='store_true',
                   help='delete another run\'s outputs in --out')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(argv)


def merged_config(args):
    from rgl.utils.config import load_config
    cfg = load_config(args.config, args.cfg_options, validate=False)
    for key in ('task', 'model', 'data'):
        if key not in cfg:
            raise ConfigError(f'{args.config} has no `{key}`')
    if cfg.task not in TASKS:
        raise ConfigError(f'task must be one of {TASKS}, got {cfg.task!r}')
    data, model = cfg.data, cfg.model
    if args.inputs:
        data.inputs = args.inputs
    if args.tgt_prompt is not None:
        tgt = args.tgt_prompt
        data.tgt_prompt = tgt[0] if len(tgt) == 1 else tgt
    if args.src_prompt is not None:
        data.src_prompt = args.src_prompt
    if args.pipeline:
        model.score_source.pretrained = args.pipeline
    if args.no_svgd:
        model.svgd = False
    if args.num_steps is not None:
        model.num_steps = args.num_steps
    if args.seed is not None:
        model.seed = args.seed
    if not data.get('inputs'):
        raise ConfigError('data.inputs is empty: pass --inputs')
    if data.get('tgt_prompt') is None:
        raise ConfigError('data.tgt_prompt is not set: pass --tgt-prompt')
    return cfg


def image_files(inputs):
    inputs = [inputs] if isinstance(inputs, str) else list(inputs)
    files = []
    for item in inputs:
        if osp.isdir(item):
            found = sorted(f for f in glob.glob(osp.join(item, '*'))
                           if f.lower().endswith(IMAGE_EXTS))
            if not found:
                raise DataError(f'{item} holds no images')
            files += found
        elif osp.isfile(item):
            files.append(item)
        else:
            raise DataError(f'input {item} does not exist')
    return files


def load_images(files, size):
    """``(n, 3, H, W)`` in [0, 1]; ``size`` = (H, W) resizes, None needs
    equal sizes."""
    from PIL import Image
    out = []
    for f in files:
        img = Image.open(f).convert('RGB')
        if size is not None:
            img = img.resize((int(size[1]), int(size[0])),
                             Image.Resampling.LANCZOS)
        out.append(np.asarray(img))
    shapes = {a.shape for a in out}
    if len(shapes) > 1:
        raise DataError(f'input images differ in size {sorted(shapes)}; set '
                        'data.image_size')
    x = torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2)
    return x.float() / 255


def to_uint8(images):
    return (images.clamp(0, 1) * 255).round().byte().permute(
        0, 2, 3, 1).cpu().numpy()


def save_outputs(out, task, sources, edited, fps):
    from PIL import Image
    for name, imgs in (('source', sources), ('edited', edited)):
        os.makedirs(osp.join(out, name), exist_ok=True)
        for i, a in enumerate(to_uint8(imgs)):
            Image.fromarray(a).save(osp.join(out, name, f'{i:05d}.png'))
    rows = [np.concatenate(list(to_uint8(x)), axis=1)
            for x in (sources, edited)]
    Image.fromarray(np.concatenate(rows, axis=0)).save(
        osp.join(out, 'gallery.png'))
    if task == 'video':
        frames = [Image.fromarray(a) for a in to_uint8(edited)]
        frames[0].save(osp.join(out, 'edited.gif'), save_all=True,
                       append_images=frames[1:], duration=int(1000 / fps),
                       loop=0)
        try:
            import imageio
            imageio.mimwrite(osp.join(out, 'edited.mp4'), to_uint8(edited),
                             fps=fps)
        except Exception as err:  # no ffmpeg backend: the GIF stays
            print(f'no edited.mp4 ({type(err).__name__}: {err})')


class PanoramaParticles:
    """Overlapping latent windows of one wide latent as particles."""

    def __init__(self, shape, window=64, stride=16, batch=16,
                 num_prompts=1):
        from rgl.models.distillers import region_weights, window_views
        self.shape, self.window = tuple(shape), int(window)
        self.views = window_views(shape[1], shape[2], window, stride)
        self.batch = int(batch)
        # several target prompts: left-to-right regions, mixed per view
        self.weights = None if num_prompts == 1 else region_weights(
            self.views, self.window, shape[2], num_prompts)

    def select(self, seed, step):
        """The step's window indices (all when batch <= 0)."""
        from rgl.models.distillers.svgd import step_seed
        v = len(self.views)
        if self.batch <= 0 or self.batch >= v:
            return torch.arange(v)
        gen = torch.Generator().manual_seed(step_seed(seed, step) + 1)
        return torch.randperm(v, generator=gen)[:self.batch].sort().values


def run_identity(args, cfg):
    from rgl.utils.run_identity import RunIdentity
    files = image_files(cfg.data.inputs)
    from rgl.utils.run_identity import file_sha256
    data = cfg.data
    run = dict(inputs_sha256=[file_sha256(f) for f in files],
               prompts=dict(tgt=data.tgt_prompt,
                            src=data.get('src_prompt', ''),
                            neg=data.get('neg_prompt', '')))
    return RunIdentity('csd_edit', run, config=cfg,
                       checkpoint=cfg.model.score_source.pretrained)


def main(argv=None):
    args = parse_args(argv)
    cfg = merged_config(args)
    from tqdm import tqdm

    from rgl.registry import MODELS
    from rgl.utils.checkpoint import load_checkpoint_file
    from rgl.utils.run_identity import claim_output
    if args.save_interval < 1:
        raise ConfigError('--save-interval must be >= 1')
    files = image_files(cfg.data.inputs)
    if cfg.task == 'panorama' and len(files) != 1:
        raise DataError(f'task panorama edits one image, got {len(files)}')
    device = torch.device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    # build first: a missing or wrong pipeline folder is named before any
    # output is claimed
    distiller = MODELS.build(cfg.model).to(device)
    identity = run_identity(args, cfg)
    resumed = claim_output(args.out, identity, overwrite=args.overwrite,
                           folder=True, members=OUTPUTS)
    source = distiller.score_source
    images = load_images(files, cfg.data.get('image_size'))
    source.check_image_size(*images.shape[-2:])
    data = cfg.data
    source.set_prompts(data.tgt_prompt, data.get('src_prompt', ''),
                       data.get('neg_prompt', ''))
    src = source.encode(images.to(device))
    pano = None
    if cfg.task == 'panorama':
        pcfg = cfg.get('panorama', {})
        tgt = data.tgt_prompt
        pano = PanoramaParticles(
            src.shape[1:], **pcfg,
            num_prompts=1 if isinstance(tgt, str) else len(tgt))
        distiller.check_particles(min(len(pano.views), pano.batch)
                                  if pano.batch > 0 else len(pano.views))
    else:
        distiller.check_particles(len(src))
    target = torch.nn.Parameter(src.clone())
    opt, sched = distiller.make_optimizer([target])
    start = 0
    state_path = osp.join(args.out, 'state.pt')
    if resumed and osp.isfile(state_path):
        state = load_checkpoint_file(state_path)
        with torch.no_grad():
            target.copy_(state['target'].to(device))
        opt.load_state_dict(state['optimizer'])
        sched.load_state_dict(state['scheduler'])
        start = int(state['step'])
        print(f'resuming {args.out} at step {start}', flush=True)
    seed = distiller.seed
    bar = tqdm(range(start, distiller.num_steps), desc=f'CSD {cfg.task}',
               initial=start, total=distiller.num_steps)
    for step in bar:
        opt.zero_grad()
        if pano is None:
            grad, t = distiller.gradient(target.data, src, step)
        else:
            from rgl.models.distillers import (gather_windows,
                                               scatter_average)
            ids = pano.select(seed, step)
            views = pano.views[ids]
            g, t = distiller.gradient(
                gather_windows(target.data[0], views, pano.window),
                gather_windows(src[0], views, pano.window), step,
                ids.tolist(), prompt_weights=None if pano.weights is None
                else pano.weights[ids])
            grad = scatter_average(g, views, pano.shape)[None]
        target.grad = grad.to(target.dtype)
        opt.step()
        sched.step()
        bar.set_postfix(t=t, lr=f'{sched.get_last_lr()[0]:.3g}')
        done = step + 1
        stop = args.stop_at is not None and done >= args.stop_at
        if (done % args.save_interval == 0 or done == distiller.num_steps
                or stop):
            tmp = state_path + '.tmp'
            torch.save(dict(step=done, target=target.data.cpu(),
                            optimizer=opt.state_dict(),
                            scheduler=sched.state_dict()), tmp)
            os.replace(tmp, state_path)
        if stop and done < distiller.num_steps:
            print(f'stopped at step {done} of {distiller.num_steps}; run '
                  'again to resume', flush=True)
            return
    edited = source.decode(target.data)
    save_outputs(args.out, cfg.task, images, edited.cpu(),
                 cfg.get('output', {}).get('fps', 8))
    print(f'wrote {args.out}/gallery.png ({len(edited)} image(s), '
          f'{distiller.num_steps} steps, svgd={distiller.svgd})', flush=True)


if __name__ == '__main__':
    run_cli(main)
