"""DDT + REG (a composed config) through tools/train.py and tools/sample.py."""
import glob
import json

import numpy as np
import torch

from rgl.utils.checkpoint import load_state_dict_file, state_dict_of

CFG = 'configs/ddt/ddt-tiny_repa_reg_digits.py'


def test_ddt_reg_trains_and_samples(tool, tmp_path):
    work = tmp_path / 'work'
    out = tool(['tools/train.py', CFG, '--work-dir', str(work),
                '--cfg-options', 'train_cfg.max_iters=3',
                'default_hooks.checkpoint.interval=3',
                'default_hooks.logger.interval=1',
                'train_dataloader.batch_size=8',
                'custom_hooks.2.num_samples=16',
                'custom_hooks.2.batch_size=16',
                'custom_hooks.2.sampler.num_steps=2',
                'custom_hooks.2.grid_sampler.num_steps=2'])
    assert out.returncode == 0, out.stderr[-3000:]
    ckpt = str(work / 'iter_3.pth')
    state = state_dict_of(load_state_dict_file(ckpt))
    # the class token's input, norm and output head, and DDT's two
    # embedders, are part of the trained model
    for key in ('backbone.cls_projectors2.weight', 'backbone.wg_norm.weight',
                'backbone.final_layer.linear_cls.weight',
                'backbone.s_embedder.proj.weight',
                'backbone.x_embedder.proj.weight'):
        assert key in state, key
    logs = [json.loads(line) for f in glob.glob(str(work / '*/vis_data/'
                                                    'scalars.json'))
            for line in open(f)]
    train = [r for r in logs if 'loss_cls' in r]
    assert len(train) == 3
    assert all(r['loss_cls'] > 0 and 'loss_repa' in r for r in train)
    # sampling from the checkpoint carries the token (the tool's path)
    samples = tmp_path / 'samples'
    out = tool(['tools/sample.py', CFG, ckpt, '--out', str(samples),
                '--num-samples', '4', '--batch-size', '2', '--num-steps',
                '2', '--cfg-scale', '2.0'])
    assert out.returncode == 0, out.stderr[-3000:]
    npz = glob.glob(str(samples / '*.npz'))
    arrays = np.load(sorted(npz)[0])
    assert arrays['arr_0'].shape[0] == 4
    assert torch.from_numpy(arrays['arr_0']).dtype == torch.uint8
