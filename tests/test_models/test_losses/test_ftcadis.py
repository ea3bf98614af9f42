"""FT-CADIS: the selective cross-entropy mask (with the warm start), the
consistent target, the masked adversarial KL and the attack, against hand
computations."""
import math

import pytest
import torch
from torch import nn

from rgl.models.classifiers import ImageClassifier
from rgl.models.losses import FTCADISLoss
from rgl.models.losses.ftcadis import selective_cross_entropy
from rgl.models.losses.utils import mean_rms
from rgl.utils.errors import ConfigError


class TableDenoiser(nn.Module):
    """Returns fixed denoised copies (copy-major), whatever the noise: the
    loss can then be computed by hand."""

    def __init__(self, images):
        super().__init__()
        self.register_buffer('images', images)
        self.calls = []

    def denoise(self, x_noisy, sigma):
        self.calls.append((tuple(x_noisy.shape), sigma,
                           torch.is_grad_enabled()))
        return self.images.clone()


class Linear(nn.Module):
    def __init__(self, weight):
        super().__init__()
        self.weight = nn.Parameter(weight)

    def forward(self, x):
        return x.flatten(1) @ self.weight.t()


def test_selective_cross_entropy_and_warm_start_by_hand():
    ce = torch.tensor([[1.0, 2.0, 3.0, 4.0],
                       [0.5, 0.2, 3.0, 1.0],
                       [2.0, 1.0, 3.0, 4.0]])
    correct = torch.tensor([[True, False, True, False],
                            [False, False, False, False],
                            [False, True, False, False]])
    loss, mask = selective_cross_entropy(ce, correct, warm_start=True)
    # row 0: copies 0 and 2; row 1: none correct -> its lowest CE (0.2);
    # row 2: copy 1. Divided by M = 4, as the reference does.
    torch.testing.assert_close(loss, torch.tensor([1.0, 0.05, 0.25]))
    assert mask[1].tolist() == [0, 1, 0, 0]
    loss, mask = selective_cross_entropy(ce, correct, warm_start=False)
    torch.testing.assert_close(loss, torch.tensor([1.0, 0.0, 0.25]))
    assert mask[1].sum() == 0


def _setup(lbd=2.0, num_steps=0, warm_start=True):
    # B = 2 images of 2 pixels, M = 3 copies, K = 2 classes
    x = torch.tensor([[[[0.2, 0.8]]], [[[0.6, 0.4]]]])
    den = torch.tensor([
        [[[0.1, 0.9]]], [[[0.7, 0.3]]],   # copy 0 of images 0, 1
        [[[0.3, 0.7]]], [[[0.2, 0.8]]],   # copy 1
        [[[0.0, 1.0]]], [[[0.9, 0.1]]],   # copy 2
    ])
    weight = torch.tensor([[2.0, -1.0], [-1.0, 2.0]])
    loss = FTCADISLoss(TableDenoiser(den), sigma=0.5, num_noise=3, lbd=lbd,
                       epsilon=0.1, num_steps=num_steps,
                       warm_start=warm_start)
    return loss, Linear(weight), x, den, torch.tensor([1, 0])


def test_loss_by_hand():
    loss, f, x, den, y = _setup(lbd=2.0, num_steps=0)
    out = loss(f, x, y)
    logits = den.flatten(1) @ f.weight.detach().t()   # (6, 2)
    m, b = 3, 2
    sce, madv = [], []
    for i in range(b):
        rows = [logits[j * b + i] for j in range(m)]
        ces = [-torch.log_softmax(r, 0)[y[i]] for r in rows]
        ok = [int(r.argmax()) == int(y[i]) for r in rows]
        if not any(ok):  # warm start: the lowest-CE copy
            ok[min(range(m), key=lambda j: ces[j])] = True
        sce.append(sum(c for c, k in zip(ces, ok) if k) / m)
        q = sum(torch.softmax(r, 0) for r in rows) / m
        kls = [(q * (q.log() - torch.log_softmax(r, 0))).sum() for r in rows]
        all_ok = all(int(r.argmax()) == int(y[i]) for r in rows)
        madv.append(2.0 * max(kls) * all_ok)
    # image 0 (y=1): copies 0, 1, 2 all say 1 -> the adversarial term is on;
    # image 1 (y=0): copies 0 and 2 say 0, copy 1 says 1 -> off
    assert [int(m_ > 0) for m_ in madv] == [1, 0]
    torch.testing.assert_close(out['loss_sce'], sum(sce) / b)
    torch.testing.assert_close(out['loss_madv'], sum(madv) / b)
    # the denoiser ran once, on M·B noisy copies, at σ, without gradients
    assert loss.denoiser.calls == [((6, 1, 1, 2), 0.5, False)]


def test_warm_start_on_a_sample_with_no_correct_copy():
    loss, f, x, den, _ = _setup(lbd=0.0)
    y = torch.tensor([0, 1])  # now image 0 has no copy classified 0
    with_ws = loss(f, x, y)['loss_sce']
    loss.warm_start = False
    without = loss(f, x, y)['loss_sce']
    logits = den.flatten(1) @ f.weight.detach().t()
    ce0 = min(-torch.log_softmax(logits[j * 2], 0)[0] for j in range(3))
    torch.testing.assert_close(with_ws - without, ce0 / 3 / 2)


def test_attack_keeps_residual_statistics_and_raises_the_kl():
    g = torch.Generator().manual_seed(0)
    m, b = 2, 3
    x = torch.rand(b, 1, 4, 4, generator=g)
    den = (x.repeat(m, 1, 1, 1) + 0.1 * torch.randn(m * b, 1, 4, 4,
                                                    generator=g)).clamp(0, 1)
    f = Linear(torch.randn(4, 16, generator=g))
    y = torch.tensor([0, 1, 2])
    x_rep = x.repeat(m, 1, 1, 1)
    eta0 = den - x_rep
    q = f(den).softmax(-1).view(m, b, 4).mean(0).detach()
    from rgl.models.losses.utils import kl_rows, standardized_kl_pgd
    eta = standardized_kl_pgd(f, x_rep, q.repeat(m, 1), eta0, 0.05, 2, m)
    # re-standardised as the reference: (η − μ)/rms · rms₀ + μ₀ keeps the
    # per-sample mean exactly (the RMS only approximately)
    mu0, rms0 = mean_rms(eta0)
    mu, rms = mean_rms(eta)
    torch.testing.assert_close(mu, mu0)
    assert ((rms / rms0 - 1).abs() < 0.2).all()
    before = kl_rows(q.repeat(m, 1), f(x_rep + eta0)).sum()
    after = kl_rows(q.repeat(m, 1), f(x_rep + eta)).sum()
    assert after > before
    # the loss attacks exactly these residuals
    loss = FTCADISLoss(TableDenoiser(den), sigma=0.5, num_noise=m, lbd=1.0,
                       epsilon=0.05, num_steps=2)
    logits = f(den).detach()
    correct = (logits.argmax(1) == y.repeat(m)).view(m, b).t().all(1)
    kl = kl_rows(q.expand(m, b, 4), f(x_rep + eta).view(m, b, 4)).max(0)
    torch.testing.assert_close(loss(f, x, y)['loss_madv'],
                               (kl.values * correct).mean())


def test_gradients_reach_the_classifier_only():
    loss, f, x, den, y = _setup(lbd=2.0, num_steps=2)
    out = loss(f, x, y)
    sum(out.values()).backward()
    assert f.weight.grad is not None and f.weight.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in loss.denoiser.parameters())
    assert list(loss.state_dict()) == []  # the denoiser is never saved


def test_image_classifier_config_uses_the_loss():
    """Any rgl classifier takes the loss from its config; the frozen
    denoiser stays out of the classifier's checkpoint."""
    from mmpretrain.structures import DataSample
    den = TableDenoiser(torch.rand(2 * 4, 1, 8, 8))
    model = ImageClassifier(
        backbone=dict(type='SmallConvNet', in_channels=1, widths=(4, 8)),
        num_classes=3,
        train_loss=FTCADISLoss(den, sigma=0.25, num_noise=2, lbd=1.0,
                               num_steps=1))
    samples = [DataSample().set_gt_label(i % 3) for i in range(4)]
    losses = model(torch.rand(4, 1, 8, 8), samples, mode='loss')
    assert set(losses) == {'loss_sce', 'loss_madv'}
    sum(losses.values()).backward()
    assert model.head.weight.grad.abs().sum() > 0
    assert not [k for k in model.state_dict() if 'denois' in k]


def test_bad_arguments_name_the_key():
    den = TableDenoiser(torch.zeros(2, 1, 1, 2))
    with pytest.raises(ConfigError, match='num_noise'):
        FTCADISLoss(den, sigma=0.5, num_noise=0)
    with pytest.raises(ConfigError, match='epsilon'):
        FTCADISLoss(den, sigma=0.5, epsilon=-1)
    with pytest.raises(ConfigError, match='denoiser'):
        FTCADISLoss(None, sigma=0.5)
    with pytest.raises(ConfigError, match='denoise'):
        FTCADISLoss(nn.Identity(), sigma=0.5)
    assert math.isclose(FTCADISLoss(den, 0.5).epsilon, 0.125)
