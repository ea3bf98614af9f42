"""HASTE's early stop: exact zeros and no encoder after the switch, and a
resume across the switch that matches the uninterrupted run bit for bit."""
import re
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from rgl.engine.hooks import AlignmentEarlyStopHook
from rgl.models.aligners import HASTEAligner, REPAAligner
from rgl.models.backbones import SiT
from rgl.models.encoders import MAEEncoder
from rgl.utils.errors import ConfigError

TINY = dict(depth=2, hidden_size=32, num_heads=2, patch_size=2)


class CountingMAE(MAEEncoder):
    """A tiny MAE that counts its forward passes."""

    def __init__(self):
        super().__init__(arch=dict(embed_dims=16, num_layers=2, num_heads=2,
                                   feedforward_channels=32),
                         patch_size=4, grid_size=8, mean=None, std=None)
        self.calls = 0

    def forward_tokens(self, x):
        self.calls += 1
        return super().forward_tokens(x)


class Model(nn.Module):

    def __init__(self, aligners):
        super().__init__()
        self.backbone = SiT(arch=TINY, input_size=16, in_channels=3,
                            num_classes=10)
        self.aligners = nn.ModuleList(a.bind(self.backbone) for a in aligners)


def runner_at(model, it):
    return SimpleNamespace(model=model, iter=it, max_iters=10)


@pytest.mark.filterwarnings('ignore:.*RANDOM')
def test_terms_are_exact_zeros_and_not_computed_after_the_stop():
    torch.manual_seed(0)
    enc = CountingMAE()
    model = Model([
        HASTEAligner(encoders=[enc], depth=1, attn_blocks=[0, 1],
                     encoder_attn_blocks=[0, 1]),
        REPAAligner(encoders=[enc], depth=2, projector_dim=8)
    ])
    hook = AlignmentEarlyStopHook(stop_iter=3)
    hook.before_train(runner_at(model, 0))
    x, t, y = torch.rand(2, 3, 16, 16), torch.rand(2), torch.tensor([0, 1])
    backbone = model.backbone
    for it, on in ((0, True), (2, True), (3, False), (7, False)):
        hook.before_train_iter(runner_at(model, it), it)
        assert all(a.alignment_enabled is on for a in model.aligners)
        calls = enc.calls
        backbone(x, t, y)
        assert all(b.attn.record_attention is on for b in backbone.blocks)
        losses = {}
        for a in model.aligners:
            losses.update(a.loss(images=x))
        assert set(losses) == {'loss_repa', 'repa_cos', 'loss_attn'}
        if on:
            assert enc.calls == calls + 2
            assert losses['loss_attn'] > 0
        else:
            assert enc.calls == calls  # no encoder forward
            for value in losses.values():
                assert value.item() == 0.0 and not value.requires_grad
            assert all(b.attn.attention_logits is None
                       for b in backbone.blocks)
            assert all(a.tap.output is None for a in model.aligners)
    # a resumed run sets the flag from the iteration alone
    hook2 = AlignmentEarlyStopHook(stop_iter=3)
    hook2.before_train_iter(runner_at(model, 1), 1)
    assert all(a.alignment_enabled for a in model.aligners)


def test_hook_config_errors():
    with pytest.raises(ConfigError, match='stop_iter'):
        AlignmentEarlyStopHook(stop_iter=-1)
    bare = Model([])
    with pytest.raises(ConfigError, match='no aligner'):
        AlignmentEarlyStopHook(3).before_train(runner_at(bare, 0))
    model = Model([REPAAligner(encoders=[], encoder_dims=[8], depth=1)])
    with pytest.raises(ConfigError, match=r'aligners\.0'):
        AlignmentEarlyStopHook(3, modules=['aligner']).before_train(
            runner_at(model, 0))


CFG = 'configs/haste/sit-tiny_haste_digits.py'
OPTS = [
    '--cfg-options', 'train_cfg.max_iters=6',
    'default_hooks.alignment_stop.stop_iter=4',
    'default_hooks.checkpoint.interval=3',
    'default_hooks.checkpoint.max_keep_ckpts=3',
    'default_hooks.logger.interval=1', 'log_processor.window_size=1',
    'train_dataloader.batch_size=8',
    'custom_hooks.2.num_samples=10', 'custom_hooks.2.grid_rows=1',
    'custom_hooks.2.sampler.num_steps=2',
    'custom_hooks.2.grid_sampler.num_steps=2'
]


@pytest.mark.slow
def test_resume_across_the_stop_is_bit_exact(tool, tmp_path):
    from rgl.utils import load_checkpoint_file
    full, resumed = tmp_path / 'full', tmp_path / 'resumed'
    out = tool(['tools/train.py', CFG, '--work-dir', str(full)] + OPTS)
    assert out.returncode == 0, out.stderr[-3000:]
    log = out.stdout + out.stderr
    attn = [float(v) for v in re.findall(r'loss_attn: (-?[\d.]+)', log)]
    assert len(attn) == 6 and all(v > 0 for v in attn[:4])
    assert attn[4:] == [0.0, 0.0]
    out = tool(['tools/train.py', CFG, '--work-dir', str(resumed),
                '--resume', str(full / 'iter_3.pth')] + OPTS)
    assert out.returncode == 0, out.stderr[-3000:]
    a = load_checkpoint_file(full / 'iter_6.pth')
    b = load_checkpoint_file(resumed / 'iter_6.pth')
    for key in ('state_dict', 'ema_state_dict'):
        assert a[key].keys() == b[key].keys()
        for name in a[key]:
            torch.testing.assert_close(a[key][name], b[key][name], rtol=0,
                                       atol=0, msg=f'{key}.{name}')
    assert (full / 'scores.json').read_text() == \
        (resumed / 'scores.json').read_text()
