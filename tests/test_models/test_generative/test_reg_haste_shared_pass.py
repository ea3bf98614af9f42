"""REG + HASTE: REG's class token, HASTE's targets and its attention maps
come from one encoder pass per step, and the losses are those of the two
separate passes."""
import pytest
import torch

from rgl.models.generative import FlowMatching
from test_reg_class_token import samples

TINY = dict(depth=2, hidden_size=32, num_heads=2, patch_size=4)
ENC_DIM = 16


def reg_haste(align_prefix=False):
    enc = dict(type='MAEEncoder',
               arch=dict(embed_dims=ENC_DIM, num_layers=2, num_heads=2,
                         feedforward_channels=32),
               patch_size=4, grid_size=4, mean=None, std=None)
    with pytest.warns(UserWarning, match='RANDOM'):
        model = FlowMatching(
            backbone=dict(type='SiT', arch=TINY, input_size=16,
                          in_channels=1, num_classes=10,
                          class_token_dim=ENC_DIM),
            class_token=dict(loss_weight=0.03),
            aligners=[dict(type='HASTEAligner', encoders=[enc], depth=1,
                           projector_dim=8, attn_blocks=[0, 1],
                           encoder_attn_blocks=[0, 1], attn_loss_weight=0.5,
                           align_prefix=align_prefix)])
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.1)
    return model.train()


def _step(model, share, monkeypatch):
    aligner = model.aligners[0]
    enc = aligner.encoders[0]
    passes = []
    handle = enc.vit.patch_embed.register_forward_hook(
        lambda *a: passes.append(1))
    if not share:  # the behaviour before: REG and HASTE encode apart
        monkeypatch.setattr(aligner, 'teacher_pass', lambda: None)
    x = torch.rand(4, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(2)  # the same t and noise for both runs
    try:
        losses = model(x, samples(4))
    finally:
        handle.remove()
        monkeypatch.undo()
        aligner.discard()  # a failed step leaves no maps behind
    return losses, len(passes)


def test_one_encoder_pass_and_the_same_losses(monkeypatch):
    model = reg_haste()
    apart, n_apart = _step(model, False, monkeypatch)
    shared, n_shared = _step(model, True, monkeypatch)
    assert n_apart == 2 and n_shared == 1
    assert set(shared) == set(apart) >= {'loss_repa', 'loss_attn',
                                         'loss_cls'}
    for key in apart:
        torch.testing.assert_close(shared[key], apart[key])


def test_aligning_the_class_position_gets_the_class_token(monkeypatch):
    """With align_prefix, HASTE's targets must carry REG's class token
    first. Encoding on its own, HASTE had only the patch tokens and took
    the first patch for the class (an error here: 15 tokens left); the
    shared pass gives it [cls; patches]."""
    from rgl.utils.errors import ConfigError
    model = reg_haste(align_prefix=True)
    with pytest.raises(ConfigError, match='15 tokens'):
        _step(model, False, monkeypatch)
    losses, passes = _step(model, True, monkeypatch)
    assert passes == 1
    assert all(torch.isfinite(v).all() for v in losses.values())
