"""Reward fine-tuning of a diffusers text-to-image pipeline with LoRA
(TextNorm's optimisers: best-of-n, supervised fine-tuning on best-of-n
samples, KL-regularised policy gradient)::

    python tools/textnorm/finetune.py CONFIG --work-dir DIR \
        [--pipeline LOCAL_PIPELINE_DIR] [--steps N] [--resume] \
        [--overwrite] [--cfg-options K=V ...]

Every step logs the raw reward of each reward model, its calibrated
(TextNorm) reward and the ensemble to ``DIR/log.jsonl``; every
``save_every`` steps it writes the LoRA weights
(``lora_step{N}.safetensors``) and a gallery of fixed prompts and seeds
(``gallery_step{N}.png``), whose rewards go to
``DIR/eval.jsonl``. At the end it prints the steps where the raw
reward rose while the calibrated one fell (reward hacking).

Run identity and resume: ``DIR/run_identity.json`` records the method, the
seed, the merged config (``train.steps`` aside, so a run can be extended)
and the SHA-256 of the pipeline folder. A work dir of another run (or of
no recorded run) is refused unless ``--overwrite``; one of the same run is
refused unless ``--resume``, which continues from ``DIR/state_last.pt``
(LoRA weights, AdamW state, RNG state and the logs up to the last save):
every sample's noise is drawn from ``(seed, item index)``, so a resumed run
reproduces the uninterrupted one bit for bit on the same machine and
thread count.
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from rgl.utils.cli import run_cli  # noqa: E402
from rgl.utils.errors import ConfigError  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='reward fine-tuning (TextNorm)')
    p.add_argument('config')
    p.add_argument('--work-dir', required=True)
    p.add_argument('--pipeline', help='local diffusers pipeline folder '
                   "(overrides the config's `pipeline`)")
    p.add_argument('--steps', type=int, help='override train.steps')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--resume', action='store_true',
                   help='continue the run in --work-dir from its last save')
    p.add_argument('--overwrite', action='store_true',
                   help="replace another run's (or an old) --work-dir")
    p.add_argument('--cfg-options', nargs='+', default=[])
    return p.parse_args(argv)


def save_gallery(images, path, ncol):
    import numpy as np
    from PIL import Image
    x = (images.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).numpy()
    n, h, w, _ = x.shape
    nrow = -(-n // ncol)
    grid = np.zeros((nrow * h, ncol * w, 3), np.uint8)
    for i in range(n):
        r, c = divmod(i, ncol)
        grid[r * h:(r + 1) * h, c * w:(c + 1) * w] = x[i]
    Image.fromarray(grid).save(path)


#: what the tool writes in --work-dir (claimed, resumed or overwritten)
MEMBERS = ('log.jsonl', 'eval.jsonl', 'lora_step*.safetensors',
           'gallery_step*.png', 'state_last.pt')


def run_identity(args, cfg, pipeline):
    """The run of this invocation: method, seed, merged config without
    ``train.steps`` (a run may be extended) and the pipeline's SHA-256."""
    import copy

    from rgl.utils.run_identity import RunIdentity
    config = copy.deepcopy(cfg.to_dict())
    config.get('train', {}).pop('steps', None)
    config.pop('pipeline', None)  # its content is hashed, not its path
    return RunIdentity('textnorm_finetune',
                       dict(method=config.get('method', 'pg'),
                            seed=args.seed),
                       config=config, checkpoint=pipeline)


def save_state(path, step, policy, opt, history, evals):
    """Everything a resume needs, written atomically."""
    import torch
    state = dict(step=step, lora=policy.lora_state_dict(),
                 optimizer=opt.state_dict(),
                 rng=torch.get_rng_state(), history=history, evals=evals)
    torch.save(state, path + '.tmp')
    os.replace(path + '.tmp', path)


def load_state(path, policy, opt):
    import torch

    from rgl.utils.checkpoint import load_checkpoint_file
    from rgl.utils.errors import CheckpointError
    state = load_checkpoint_file(path)
    missing = {'step', 'lora', 'optimizer', 'rng', 'history', 'evals'} - \
        set(state)
    if missing:
        raise CheckpointError(f'{path}: not a finetune state (missing '
                              f'{sorted(missing)})')
    policy.load_lora_state_dict(state['lora'])
    opt.load_state_dict(state['optimizer'])
    torch.set_rng_state(state['rng'])
    return state['step'], list(state['history']), list(state['evals'])


def main(argv=None):
    args = parse_args(argv)
    import torch
    from mmengine.config import Config, DictAction
    from safetensors.torch import save_file
    from tqdm import tqdm

    import rgl  # noqa: F401
    from rgl.models.rewards.finetune import (DiffusionPolicy, best_of_n,
                                             hacking_steps,
                                             policy_gradient_loss,
                                             supervised_loss)
    from rgl.registry import MODELS
    if not osp.isfile(args.config):
        raise ConfigError(f'config not found: {args.config}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        ns = argparse.Namespace()
        DictAction(option_strings=[], dest='o')(None, ns, args.cfg_options)
        cfg.merge_from_dict(ns.o)
    pipeline = args.pipeline or cfg.get('pipeline')
    if not pipeline:
        raise ConfigError('`pipeline` (a local diffusers folder) is required '
                          '(or pass --pipeline)')
    method = cfg.get('method', 'pg')
    if method not in ('pg', 'sft', 'best_of_n'):
        raise ConfigError(f"method must be 'pg', 'sft' or 'best_of_n'; got "
                          f'{method!r}')
    train = dict(steps=10, batch_size=4, lr=1e-4, beta=0.01, n=4,
                 save_every=5, objective='textnorm')
    train.update(cfg.get('train', {}))
    if args.steps is not None:
        train['steps'] = args.steps
    if train['objective'] not in ('textnorm', 'raw'):
        raise ConfigError("train.objective must be 'textnorm' or 'raw'")
    prompts = list(cfg.get('prompts', []))
    if not prompts:
        raise ConfigError('`prompts` (the training prompts) is empty')
    gallery_prompts = list(cfg.get('gallery_prompts', prompts[:4]))
    if not osp.isfile(osp.join(str(pipeline), 'model_index.json')):
        from rgl.utils.errors import CheckpointError
        raise CheckpointError(f'pipeline: no diffusers pipeline at {pipeline}'
                              ' (model_index.json is missing; a local '
                              'save_pretrained folder is required)')
    from rgl.utils.run_identity import claim_output
    identity = run_identity(args, cfg, pipeline)
    resumed = claim_output(args.work_dir, identity, folder=True,
                           members=MEMBERS, overwrite=args.overwrite,
                           resume=args.resume)
    state_path = osp.join(args.work_dir, 'state_last.pt')
    if resumed and not osp.isfile(state_path):
        raise ConfigError(f'{args.work_dir} has no {osp.basename(state_path)}'
                          ' (the run stopped before its first save); pass '
                          '--overwrite to start again')
    torch.manual_seed(args.seed)
    policy = DiffusionPolicy(pipeline, **cfg.get('policy', {}))
    reward = MODELS.build(cfg.reward)
    opt = torch.optim.AdamW(policy.lora_parameters(), lr=train['lr'])
    log_path = osp.join(args.work_dir, 'log.jsonl')
    eval_path = osp.join(args.work_dir, 'eval.jsonl')
    history, evals, done = [], [], 0
    if resumed:
        done, history, evals = load_state(state_path, policy, opt)
        print(f'resuming {args.work_dir} after step {done}')
    # the logs hold exactly the saved steps (a crash may have left more)
    for path, records in ((log_path, history), (eval_path, evals)):
        with open(path, 'w') as f:
            f.writelines(json.dumps(r) + '\n' for r in records)

    def rewards_of(images, ps):
        out = reward.score_all(images, ps)
        obj = out['textnorm'] if train['objective'] == 'textnorm' else \
            out['raw'][0]
        return obj.float(), out

    if done >= train['steps']:
        print(f'nothing to do: {args.work_dir} already has {done} steps '
              f'(train.steps = {train["steps"]})')
        return
    bar = tqdm(range(done + 1, train['steps'] + 1),
               desc=f'{method} fine-tuning', file=sys.stdout, disable=None)
    for step in bar:
        bs = train['batch_size']
        start = (step - 1) * bs
        ps = [prompts[(start + i) % len(prompts)] for i in range(bs)]
        if method == 'pg':
            batch = policy.sample(ps, seed=args.seed, start_index=start)
            objective, out = rewards_of(batch['images'], ps)
            losses = policy_gradient_loss(policy, batch, objective,
                                          train['beta'])
        else:
            best = best_of_n(policy, lambda im, p: rewards_of(im, p)[0],
                             ps, train['n'], seed=args.seed + step)
            objective, out = rewards_of(best['images'], ps)
            losses = dict(loss=supervised_loss(policy, best['images'], ps,
                                               seed=args.seed,
                                               start_index=start))
        if method != 'best_of_n':
            opt.zero_grad()
            losses['loss'].backward()
            opt.step()
        rec = dict(step=step, objective=float(objective.mean()),
                   raw=out['raw'].mean(1).tolist(),
                   calibrated=out['calibrated'].mean(1).tolist(),
                   textnorm=float(out['textnorm'].mean()),
                   loss=float(losses['loss'].detach()) if method != 'best_of_n'
                   else None, kl=losses.get('kl'))
        history.append(rec)
        with open(log_path, 'a') as f:
            f.write(json.dumps(rec) + '\n')
        bar.set_postfix(objective=f'{rec["objective"]:.4f}',
                        textnorm=f'{rec["textnorm"]:.4f}')
        if step % train['save_every'] == 0 or step == train['steps']:
            save_file(policy.lora_state_dict(),
                      osp.join(args.work_dir, f'lora_step{step}.safetensors'))
            # fixed prompts and seeds: checkpoints compare without the
            # sampling noise of the training batches
            reps = int(train.get('eval_repeats', 1))
            eval_ps = gallery_prompts * reps
            g = policy.sample(eval_ps, seed=args.seed + 10**6)
            save_gallery(g['images'], osp.join(
                args.work_dir, f'gallery_step{step}.png'),
                ncol=len(gallery_prompts))
            ev = reward.score_all(g['images'], eval_ps)
            ev_rec = dict(step=step, raw=ev['raw'].mean(1).tolist(),
                          calibrated=ev['calibrated'].mean(1).tolist(),
                          textnorm=float(ev['textnorm'].mean()))
            evals.append(ev_rec)
            with open(eval_path, 'a') as f:
                f.write(json.dumps(ev_rec) + '\n')
            save_state(state_path, step, policy, opt, history, evals)
    raw = [h['raw'][0] for h in history]
    cal = [h['calibrated'][0] for h in history]
    flagged = hacking_steps(raw, cal)
    print(f'{method}: objective {history[0]["objective"]:.4f} -> '
          f'{history[-1]["objective"]:.4f}; calibrated '
          f'{cal[0]:.4f} -> {cal[-1]:.4f}; raw {raw[0]:.4f} -> {raw[-1]:.4f}')
    print('reward hacking (raw up, calibrated down) at steps: '
          + (', '.join(map(str, flagged)) if flagged else 'none'))
    if len(evals) > 1:
        print('fixed-seed evaluation (step: raw / calibrated): ' + ', '.join(
            f'{e["step"]}: {e["raw"][0]:.4f} / {e["calibrated"][0]:.4f}'
            for e in evals))
    print(f'log: {log_path}')


if __name__ == '__main__':
    run_cli(main)
