"""CLEL's energy parts: spectral norm everywhere, the joint energy by hand,
the replay buffer's restart rate, NT-Xent, the loss and its bad inputs."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rgl.models.energy import (ARCH_SETTINGS, CLEL, CLELEnergyHead,
                               ReplayBuffer, SNPreActResNet, StrongAugment,
                               has_spectral_norm, joint_energy, nt_xent)
from rgl.utils.errors import ConfigError


def tiny_cfg(**kw):
    cfg = dict(
        backbone=dict(type='SNPreActResNet', arch=[(8, 1), (16, 1)],
                      in_channels=1),
        head=dict(type='CLELEnergyHead', head_dims=(32, 16),
                  projection_dims=(32, 8)),
        guide=dict(type='SimCLREncoder',
                   backbone=dict(type='SNPreActResNet', arch=[(8, 1)],
                                 in_channels=1, spectral_norm=False),
                   feat_dim=8, hidden_dim=16, out_dim=8),
        sampler=dict(type='SGLDSampler', num_steps=2),
        buffer=dict(size=32, reinit_prob=0.001), img_shape=(1, 8, 8),
        buffer_augment=dict(type='StrongAugment', flip=False),
        ebm_augment=None, guide_augment=dict(type='StrongAugment'))
    cfg.update(kw)
    return cfg


@pytest.mark.parametrize('arch', ['resnet', 'resnet_small'])
def test_spectral_norm_on_every_conv_and_linear(arch):
    net = SNPreActResNet(arch=arch, in_channels=3)
    layers = [m for m in net.modules()
              if isinstance(m, (nn.Conv2d, nn.Linear))]
    # stem + 2 convs per block + 1x1 shortcuts where the width changes
    blocks = sum(b for _, b in ARCH_SETTINGS[arch])
    widths = [c for c, _ in ARCH_SETTINGS[arch]]
    shortcuts = sum(a != b for a, b in zip(widths, widths[1:]))
    assert len(layers) == 1 + 2 * blocks + shortcuts
    assert all(has_spectral_norm(m) for m in layers)
    assert net.out_channels == widths[-1]
    plain = SNPreActResNet(arch=arch, spectral_norm=False)
    assert not any(has_spectral_norm(m) for m in plain.modules()
                   if isinstance(m, nn.Conv2d))


def test_spectral_norm_bounds_the_layers():
    torch.manual_seed(0)
    net = SNPreActResNet(arch=[(8, 1), (16, 1)], in_channels=1).train()
    for _ in range(30):  # power iterations
        net(torch.rand(2, 1, 8, 8))
    w = net.stages[0].conv1.weight.detach().flatten(1)
    assert torch.linalg.matrix_norm(w, ord=2) == pytest.approx(1.0,
                                                               abs=1e-3)


def test_paper_arch_sizes():
    assert ARCH_SETTINGS['resnet'] == [(128, 2), (128, 2), (256, 2),
                                       (256, 2)]
    net = SNPreActResNet('resnet_small')
    assert net(torch.rand(2, 3, 32, 32)).shape == (2, 128)
    head = CLELEnergyHead(128)
    f, z = head(torch.randn(2, 128))
    assert f.shape == (2, 128) and z.shape == (2, 128)
    assert all(m.bias is None for m in head.projection
               if isinstance(m, nn.Linear))
    with pytest.raises(ConfigError, match='arch'):
        SNPreActResNet('resnet_huge')


def test_joint_energy_by_hand():
    f = torch.tensor([[1.0, 2.0], [0.0, -3.0]])
    z = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    y = torch.tensor([[2.0, 0.0], [0.0, 5.0]])
    beta = 0.5
    # ½‖f‖² = 2.5, 4.5; cos = 1, 1/√2
    expected = torch.tensor([2.5 - 0.5 * 1.0, 4.5 - 0.5 / math.sqrt(2)])
    assert torch.allclose(joint_energy(f, z, y, beta), expected)
    assert torch.allclose(CLELEnergyHead.energy(f), torch.tensor([2.5, 4.5]))


def test_nt_xent_by_hand():
    torch.manual_seed(0)
    y, k = torch.randn(6, 4), torch.randn(2, 4)
    yn, kn = F.normalize(y, dim=1), F.normalize(k, dim=1)
    keys = torch.cat([yn, kn])
    losses = []
    for i in range(6):
        pos = (i + 3) % 6
        logits = torch.stack([yn[i] @ keys[j] / 0.2 for j in range(8)
                              if j != i])
        idx = [j for j in range(8) if j != i].index(pos)
        losses.append(-torch.log_softmax(logits, 0)[idx])
    assert torch.allclose(nt_xent(y, 0.2, k), torch.stack(losses).mean(),
                          atol=1e-5)


def test_replay_buffer_reinit_rate():
    torch.manual_seed(0)
    buf = ReplayBuffer(20000, (1, 2, 2), reinit_prob=0.25)
    buf.images.fill_(2.0)  # outside U[0, 1]: a restart is visible
    idx, x = buf.draw(20000)
    assert len(set(idx.tolist())) == 20000  # distinct indices
    restarted = (x <= 1).all(dim=(1, 2, 3)).float().mean().item()
    sd = math.sqrt(0.25 * 0.75 / 20000)
    assert abs(restarted - 0.25) < 5 * sd
    buf.update(idx[:3], torch.zeros(3, 1, 2, 2))
    assert (buf.images[idx[:3]] == 0).all()
    none = ReplayBuffer(100, (1, 2, 2), reinit_prob=0.0)
    none.images.fill_(2.0)
    assert (none.draw(100)[1] == 2.0).all()


def test_buffer_smaller_than_batch_names_key():
    model = CLEL(**tiny_cfg(buffer=dict(size=4)))
    with pytest.raises(ConfigError, match='buffer.size'):
        model.loss(torch.rand(8, 1, 8, 8))


def test_guide_width_mismatch_names_key():
    cfg = tiny_cfg()
    cfg['guide']['out_dim'] = 12
    with pytest.raises(ConfigError, match='guide'):
        CLEL(**cfg)


def test_loss_terms_and_gradients():
    torch.manual_seed(0)
    model = CLEL(**tiny_cfg())
    before = model.buffer.images.clone()
    out = model.loss(torch.rand(6, 1, 8, 8))
    assert {'loss_cd', 'loss_reg', 'loss_latent', 'loss_simclr'} <= set(out)
    assert out['loss_reg'] >= 0
    sum(v for k, v in out.items() if 'loss' in k).backward()
    assert model.head.projection[0].weight.grad.abs().sum() > 0
    assert model.guide.head[0].weight.grad.abs().sum() > 0
    assert (model.buffer.images != before).any(dim=(1, 2, 3)).sum() == 6
    base = CLEL(**tiny_cfg(guide=None))
    assert set(base.loss(torch.rand(6, 1, 8, 8))) == {
        'loss_cd', 'loss_reg', 'e_pos', 'e_neg'}


def test_frozen_encoder_guide():
    """Any rgl encoder (tokens (N, T, D)) can guide; it stays frozen."""
    class Tokens(nn.Module):
        embed_dim = 8

        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(64, 16)

        def forward(self, x):
            return self.proj(x.flatten(1)).view(-1, 2, 8)

    model = CLEL(**tiny_cfg(guide=Tokens()))
    out = model.loss(torch.rand(4, 1, 8, 8))
    assert 'loss_latent' in out and 'loss_simclr' not in out
    assert not any(p.requires_grad for p in model.guide.parameters())


def test_strong_augment_shapes_and_determinism():
    x = torch.rand(5, 3, 8, 8)
    aug = StrongAugment()
    a = aug(x, generator=torch.Generator().manual_seed(1))
    b = aug(x, generator=torch.Generator().manual_seed(1))
    assert a.shape == x.shape and torch.equal(a, b)
    assert a.min() >= 0 and a.max() <= 1
    full = StrongAugment(crop_scale=(1, 1), ratio=(1, 1), flip=False,
                         jitter_p=0, gray_p=0)
    assert torch.allclose(full(x), x, atol=1e-5)
