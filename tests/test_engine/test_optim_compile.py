"""compile=True: torch.compile of the compute modules of a training step."""
import os.path as osp

import pytest
import torch
from mmengine.optim import OptimWrapper

from rgl.engine.optimizers import (CompileHook, compile_options,
                                   compile_train_modules)
from rgl.utils.config import load_config
from rgl.utils.errors import ConfigError

CONFIG = 'configs/repa/sit-tiny_repa_digits.py'
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

needs_compile = pytest.mark.skipif(
    not hasattr(torch, 'compile') or not torch._dynamo.is_dynamo_supported(),
    reason='torch.compile is unavailable here')


def build_repa_digits():
    from rgl.registry import MODELS
    cfg = load_config(osp.join(ROOT, CONFIG))
    torch.manual_seed(0)
    return MODELS.build(cfg.model).train()


def batch(n=4):
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(1)
    return dict(inputs=list(torch.rand(n, 1, 16, 16, generator=g)),
                data_samples=[DataSample().set_gt_label(i % 10)
                              for i in range(n)])


def step_losses_and_grads(model):
    torch.manual_seed(3)
    opt = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0))
    with opt.optim_context(model):
        data = model.data_preprocessor(batch(), True)
        losses = model(**data, mode='loss')
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()
             if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return {k: float(v.detach()) for k, v in losses.items()}, grads


def test_compile_options_and_errors():
    assert compile_options(None) is None and compile_options(False) is None
    assert compile_options(True) == (None, {})
    assert compile_options(dict(mode='max-autotune', targets=['backbone'])) \
        == (['backbone'], dict(mode='max-autotune'))
    with pytest.raises(ConfigError, match='compile'):
        compile_options('yes')
    with pytest.raises(ConfigError, match='targets'):
        compile_options(dict(targets='backbone'))
    with pytest.raises(ConfigError, match='no submodule'):
        compile_train_modules(torch.nn.Linear(2, 2),
                              dict(targets=['backbone']))
    with pytest.raises(ConfigError, match='no `backbone`'):
        compile_train_modules(torch.nn.Linear(2, 2), True)
    assert CompileHook(dict(backend='eager')).compiled == []


@needs_compile
def test_compiled_repa_step_matches_eager():
    """The compiled backbone (with REPA's feature tap on blocks.1), the
    projectors and the frozen encoder give the eager step's losses and
    gradients, and the state-dict keys stay the same."""
    model = build_repa_digits()
    keys = list(model.state_dict())
    eager_losses, eager_grads = step_losses_and_grads(model)
    names = compile_train_modules(model, dict(backend='aot_eager'))
    assert names == ['backbone', 'aligners.0.projectors',
                     'aligners.0.encoders[0]']
    losses, grads = step_losses_and_grads(model)
    assert list(model.state_dict()) == keys
    assert losses.keys() == eager_losses.keys()
    for k in losses:
        assert losses[k] == pytest.approx(eager_losses[k], abs=1e-5), k
    assert grads.keys() == eager_grads.keys()
    for n in grads:
        torch.testing.assert_close(grads[n], eager_grads[n], atol=1e-5,
                                   rtol=1e-4)


@needs_compile
def test_train_tool_runs_a_compiled_step(tool, tmp_path):
    res = tool([
        'tools/train.py', CONFIG, '--work-dir', str(tmp_path),
        '--cfg-options', 'compile.backend=eager', 'train_cfg.max_iters=1',
        'train_dataloader.batch_size=4', 'default_hooks.logger.interval=1',
        'custom_hooks=[]'
    ])
    assert res.returncode == 0, res.stderr[-3000:]
    log = res.stdout + res.stderr
    assert 'torch.compile: backbone, aligners.0.projectors' in log
    assert 'Iter(train) [1/1]' in log
