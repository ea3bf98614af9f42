"""Sample grids and an encoder-space Fréchet distance during training."""
import json
import os
import os.path as osp

import torch
from mmengine.dist import barrier, get_rank
from mmengine.hooks import EMAHook, Hook
from mmengine.model import is_model_wrapper

from rgl.registry import DATASETS, HOOKS, MODELS


def unwrap(model):
    return model.module if is_model_wrapper(model) else model


def sampling_model(runner):
    """The EMA weights when an EMAHook runs (what REPA samples from), else
    the trained model."""
    for hook in runner.hooks:
        if isinstance(hook, EMAHook) and hasattr(hook, 'ema_model'):
            return hook.ema_model.module
    return unwrap(runner.model)


def balanced_labels(num, num_classes):
    return torch.arange(num) % num_classes


@HOOKS.register_module()
class GenerationEvalHook(Hook):
    """Write a PNG grid of class-conditional samples (one column per class,
    its name on top; :func:`rgl.visualization.draw_sample_grid`) and, with
    an ``encoder``, the Fréchet distance between encoder features of
    generated and real images (a cheap FID stand-in for small recipes).

    The score is ``FD_enc = ‖μ_g − μ_r‖² + Tr(Σ_g + Σ_r − 2(Σ_gΣ_r)^{1/2})``
    on mean-pooled encoder tokens; lower is better. It is comparable only
    between runs with the same encoder, reference set and sample count.

    Args:
        sampler (dict): SAMPLERS config of the scored samples (and of the
            grid unless ``grid_sampler`` is given).
        grid_sampler (dict, optional): the grid's sampler, e.g. with a
            guidance scale that the score should not use.
        interval (int): also evaluate every ``interval`` iterations (0: only
            after training).
        grid_rows (int): samples per class (rows of the grid).
        grid_labels (list[int], optional): the classes of the grid's
            columns (for many classes, e.g. a few ImageNet classes);
            default: every class.
        class_names (list[str], optional): column titles; default: the
            training dataset's ``metainfo['classes']``, else the labels.
        encoder (dict, optional): MODELS config of a frozen encoder.
        ref_dataset (dict, optional): DATASETS config of the real images.
        num_samples (int): generated images for the score.
        batch_size (int): sampling batch.
        seed (int): noise seed, so scores and grids reproduce.
    """

    priority = 'LOW'

    def __init__(self, sampler, interval=0, grid_rows=4, grid_labels=None,
                 class_names=None, encoder=None, ref_dataset=None,
                 num_samples=1000, batch_size=250, seed=0,
                 grid_sampler=None):
        self.sampler = sampler
        self.grid_sampler = grid_sampler or sampler
        self.grid_labels = grid_labels
        self.class_names = class_names
        self.interval = interval
        self.grid_rows = grid_rows
        self.encoder_cfg = encoder
        self.ref_dataset = ref_dataset
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.seed = seed
        self._ref_stats = None
        self._encoder = None

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if self.interval and self.every_n_train_iters(runner, self.interval) \
                and runner.iter + 1 < runner.max_iters:
            self.evaluate(runner)

    def after_train(self, runner):
        self.evaluate(runner)

    def evaluate(self, runner):
        # rank 0 samples; the others wait (the sample set is small)
        if get_rank() == 0:
            with torch.no_grad():
                self._evaluate(runner)
        barrier()

    def _generate(self, model, labels, sampler=None):
        gen = torch.Generator().manual_seed(self.seed)
        out = []
        for chunk in labels.split(self.batch_size):
            out.append(model.sample(chunk, sampler=sampler or self.sampler,
                                    generator=gen).cpu())
        return torch.cat(out)

    def _features(self, images):
        device = next(iter(self._encoder.buffers()), torch.empty(0)).device
        feats = [
            self._encoder(chunk.to(device)).float().mean(dim=1).cpu()
            for chunk in images.split(self.batch_size)
        ]
        return torch.cat(feats)

    def _class_names(self, runner):
        if self.class_names is not None:
            return list(self.class_names)
        try:  # the dataset's names, when it has them (digits: '0'..'9')
            names = runner.train_dataloader.dataset.metainfo.get('classes')
        except (AttributeError, RuntimeError, KeyError, TypeError):
            # no training dataloader (tests, sampling-only runners)
            return None
        return list(names) if names else None

    def _evaluate(self, runner):
        from rgl.visualization import save_sample_grid
        model = sampling_model(runner)
        num_classes = model.backbone.num_classes
        classes = (torch.tensor(self.grid_labels, dtype=torch.long)
                   if self.grid_labels is not None else
                   torch.arange(num_classes))
        # row-major: the first row holds every class once, and so on
        grid_labels = classes.repeat(self.grid_rows)
        grid = self._generate(model, grid_labels, self.grid_sampler)
        out_dir = osp.join(runner.work_dir, 'samples')
        os.makedirs(out_dir, exist_ok=True)
        name = f'iter_{runner.iter}.png'
        conditional = num_classes > 1
        save_sample_grid(osp.join(out_dir, name), grid,
                         grid_labels.tolist() if conditional else None,
                         self._class_names(runner) if conditional else None)
        runner.logger.info(f'sample grid: {osp.join(out_dir, name)}')
        if self.encoder_cfg is None:
            return
        from rgl.evaluation.generation import (feature_statistics,
                                               frechet_distance)
        if self._encoder is None:
            device = next(model.parameters()).device
            self._encoder = MODELS.build(self.encoder_cfg).eval().to(device)
            ref = DATASETS.build(self.ref_dataset)
            real = torch.stack([ref[i]['inputs'] for i in range(len(ref))])
            real = real.float() / 255 if real.dtype == torch.uint8 else real
            self._ref_stats = feature_statistics(self._features(real))
        fake = self._generate(
            model, balanced_labels(self.num_samples, num_classes))
        score = frechet_distance(*feature_statistics(self._features(fake)),
                                 *self._ref_stats)
        runner.logger.info(f'FD_enc ({self.num_samples} samples) at iter '
                           f'{runner.iter}: {score:.4f}')
        runner.message_hub.update_scalar('val/fd_enc', score)
        path = osp.join(runner.work_dir, 'scores.json')
        scores = json.load(open(path)) if osp.exists(path) else {}
        scores[str(runner.iter)] = dict(fd_enc=score,
                                        num_samples=self.num_samples)
        with open(path, 'w') as f:
            json.dump(scores, f, indent=1)
