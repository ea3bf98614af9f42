import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import norm

from rgl.models.losses.utils import eval_mode
from rgl.registry import MODELS
from rgl.utils.errors import ConfigError

SIGMA = 0.25


def _classifier():
    torch.manual_seed(0)
    return MODELS.build(dict(type='ImageClassifier', mean=[0.5], std=[0.5],
                             backbone=dict(type='SmallConvNet',
                                           widths=(4, 8)),
                             num_classes=5))


def _batch(b=6):
    g = torch.Generator().manual_seed(1)
    return torch.rand(b, 1, 8, 8, generator=g), torch.arange(b) % 5


LOSSES = [
    dict(type='GaussianAugmentationLoss', sigma=SIGMA, num_noise=2),
    dict(type='StabilityTrainingLoss', sigma=SIGMA, lbd=2.0),
    dict(type='ConsistencyLoss', sigma=SIGMA, num_noise=2, lbd=10, eta=0.5),
    dict(type='SmoothAdvLoss', sigma=SIGMA, epsilon=0.5, num_steps=2,
         num_noise=2),
    dict(type='MACERLoss', sigma=SIGMA, num_noise=4, lbd=12),
    dict(type='SmoothMixLoss', sigma=SIGMA, num_noise=2, num_steps=2,
         step_size=0.5, eta=5.0, mix_step=1),
    dict(type='CATRSLoss', sigma=SIGMA, num_noise=3, lbd=0.5, epsilon=0.5,
         num_steps=2),
]


@pytest.mark.parametrize('cfg', LOSSES, ids=lambda c: c['type'])
def test_gradients_flow_through_image_classifier(cfg):
    model = _classifier()
    model.train_loss = MODELS.build(cfg)
    model.train()
    x, y = _batch()
    from mmpretrain.structures import DataSample
    samples = [DataSample().set_gt_label(int(v)) for v in y]
    losses = model(x, samples, mode='loss')
    assert losses and all('loss' in k for k in losses)
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    for name in ('head.weight', 'backbone.stages.0.0.weight'):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name
    assert model.training  # attacks restored train mode


DEGENERATE = [
    (dict(type='StabilityTrainingLoss', sigma=SIGMA, lbd=0.0), 1),
    (dict(type='ConsistencyLoss', sigma=SIGMA, num_noise=3, lbd=0, eta=0), 3),
    (dict(type='SmoothAdvLoss', sigma=SIGMA, epsilon=0.0, num_noise=2), 2),
    (dict(type='MACERLoss', sigma=SIGMA, num_noise=1, lbd=0), 1),
    (dict(type='SmoothMixLoss', sigma=SIGMA, num_noise=2, eta=0), 2),
    (dict(type='CATRSLoss', sigma=SIGMA, num_noise=1, lbd=0), 1),
]


@pytest.mark.parametrize('cfg,m', DEGENERATE, ids=lambda c: str(c))
def test_degenerate_setting_is_gaussian_augmentation(cfg, m):
    model = _classifier().eval()
    x, y = _batch()
    gauss = MODELS.build(dict(type='GaussianAugmentationLoss', sigma=SIGMA,
                              num_noise=m))
    torch.manual_seed(5)
    want = gauss(model.logits, x, y)['loss_cls']
    torch.manual_seed(5)
    got = MODELS.build(cfg)(model.logits, x, y)
    total = sum(got.values())
    torch.testing.assert_close(total, want, rtol=1e-5, atol=1e-6)


def test_catrs_selection_by_hand():
    """σ = 0: all M copies agree, so a correct sample has w = 1, K = M and
    L_low = CE; a wrong one has w = 0, K = 1 and L_low = CE / M. With ε = 0
    the KL target is one-hot y, so L_high = λ · CE on correct samples."""
    model = _classifier().eval()
    x, _ = _batch()
    logits = model.logits(x)
    pred = logits.argmax(1)
    y = pred.clone()
    y[::2] = (pred[::2] + 1) % 5  # even samples wrong
    ce = F.cross_entropy(logits, y, reduction='none')
    correct = (pred == y).float()
    m, lbd = 4, 0.7
    loss = MODELS.build(dict(type='CATRSLoss', sigma=0.0, num_noise=m,
                             lbd=lbd, epsilon=0.0))
    out = loss(model.logits, x, y)
    want_low = (ce * correct + ce / m * (1 - correct)).mean()
    torch.testing.assert_close(out['loss_low'], want_low)
    torch.testing.assert_close(out['loss_high'], lbd * (ce * correct).mean())


def test_catrs_precomputed_confidence_and_noise_attack():
    model = _classifier().eval()
    x, y = _batch()
    loss = MODELS.build(dict(type='CATRSLoss', sigma=SIGMA, num_noise=2,
                             lbd=1.0, epsilon=0.5, num_steps=3))
    # p̂_y = 0 for every sample: K = 1 < M, so no worst-case term
    pb = F.one_hot((y + 1) % 5, 5).float()
    out = loss(model.logits, x, y, smoothed_pred=pb)
    assert out['loss_high'] == 0
    torch.manual_seed(0)
    noise = torch.randn(2 * 6, 1, 8, 8) * SIGMA
    target = torch.full((6, 5), 0.2)
    adv = loss.attack_noise(model.logits, x, target, noise)
    flat0, flat = noise.flatten(1), adv.flatten(1)
    # re-standardised as in the reference: (δ − μ)/rms · rms₀ + μ₀ keeps
    # the per-sample mean exactly and the RMS up to the (small) mean
    torch.testing.assert_close(flat.mean(1), flat0.mean(1), atol=1e-6,
                               rtol=1e-5)
    rms, rms0 = flat.pow(2).mean(1).sqrt(), flat0.pow(2).mean(1).sqrt()
    assert ((rms / rms0 - 1).abs() < 0.02).all()
    assert not torch.equal(adv, noise)

    def kl(n):
        lg = model.logits(x.repeat(2, 1, 1, 1) + n)
        return F.kl_div(lg.log_softmax(1), target.repeat(2, 1),
                        reduction='sum')

    assert kl(adv) > kl(noise)


def test_consistency_terms_by_hand():
    model = _classifier().eval()
    x, y = _batch()
    out = MODELS.build(dict(type='ConsistencyLoss', sigma=0.0, lbd=10,
                            eta=0.5))(model.logits, x, y)
    p = model.logits(x).softmax(1)
    assert out['loss_consistency'].abs() < 1e-6  # identical copies
    torch.testing.assert_close(
        out['loss_entropy'], 0.5 * -(p * p.log()).sum(1).mean())


def test_macer_robust_term_by_hand():
    model = _classifier().eval()
    x, _ = _batch()
    logits = model.logits(x)
    y = logits.argmax(1)  # all correct
    beta, gamma, lbd, sigma = 2.0, 8.0, 3.0, 0.5
    loss = MODELS.build(dict(type='MACERLoss', sigma=sigma, num_noise=2,
                             beta=beta, gamma=gamma, lbd=lbd))
    # replace the noise by zero through σ; the term uses self.sigma
    loss.sigma = 0.0
    out = loss(model.logits, x, y)
    p = np.sort((beta * logits).softmax(1).detach().numpy(), axis=1)
    gap = norm.ppf(p[:, -1]) - norm.ppf(p[:, -2])
    want = lbd * 0.0 / 2 * np.maximum(gamma - gap, 0).mean()
    assert out['loss_robust'].item() == pytest.approx(want, abs=1e-6)
    loss.sigma = 1e-12  # tiny noise: same gap, σ/2 scale observable
    out = loss(model.logits, x, y)
    assert out['loss_robust'].item() / 1e-12 == pytest.approx(
        lbd / 2 * np.maximum(gamma - gap, 0).mean(), rel=1e-4)


def test_smoothadv_attack_stays_in_ball_and_increases_loss():
    from rgl.models.losses.smooth_adv import smoothed_soft_nll
    model = _classifier().eval()
    x, y = _batch()
    loss = MODELS.build(dict(type='SmoothAdvLoss', sigma=SIGMA, epsilon=0.3,
                             num_steps=4, num_noise=2))
    noise = torch.randn(12, 1, 8, 8) * SIGMA
    adv = loss.attack(model.logits, x, y, noise)
    assert ((adv - x).flatten(1).norm(dim=1) <= 0.3 + 1e-5).all()
    assert adv.min() >= 0 and adv.max() <= 1
    before = smoothed_soft_nll(model.logits, x.repeat(2, 1, 1, 1), noise, y, 2)
    after = smoothed_soft_nll(model.logits, adv.repeat(2, 1, 1, 1), noise, y,
                              2)
    assert after > before


def test_eval_mode_restores_and_bad_args():
    model = _classifier().train()
    with eval_mode(model.logits):
        assert not model.training
    assert model.training
    with pytest.raises(ConfigError, match='num_noise'):
        MODELS.build(dict(type='ConsistencyLoss', sigma=0.25, num_noise=0))
    with pytest.raises(ConfigError, match='sigma'):
        MODELS.build(dict(type='CATRSLoss', sigma=-1))


def test_catrs_teacher_supplies_the_smoothed_prediction(tmp_path):
    teacher_model = _classifier().eval()
    path = tmp_path / 'teacher.pth'
    torch.save(dict(state_dict=teacher_model.state_dict()), path)
    cfg = dict(type='ImageClassifier', mean=[0.5], std=[0.5],
               backbone=dict(type='SmallConvNet', widths=(4, 8)),
               num_classes=5)
    loss = MODELS.build(dict(
        type='CATRSLoss', sigma=SIGMA, num_noise=2, lbd=1.0, epsilon=0.0,
        teacher=dict(type='SmoothedClassifier', classifier=cfg, sigma=0.0001,
                     checkpoint=str(path)),
        teacher_num_samples=8))
    assert not list(loss.parameters())  # frozen, not part of the model
    x, _ = _batch()
    pb = loss.teacher_votes(x)
    # σ ≈ 0: every draw votes for the teacher's clean prediction
    want = F.one_hot(teacher_model.logits(x).argmax(1), 5).float()
    torch.testing.assert_close(pb, want)
    student = _classifier()
    out = loss(student.logits, x, teacher_model.logits(x).argmax(1))
    sum(out.values()).backward()
    assert student.head.weight.grad.abs().sum() > 0


def test_warmup_counts_training_calls_and_is_checkpointed(tmp_path):
    model = _classifier()
    model.train_loss = MODELS.build(dict(
        type='SmoothAdvLoss', sigma=SIGMA, epsilon=0.5, num_steps=1,
        warmup_iters=4))
    counter = model.train_loss.warmup
    assert [counter.step() for _ in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]
    counter.eval()
    assert counter.step() == 1.0 and counter.num_calls == 5  # not counted
    state = model.state_dict()
    assert state['train_loss.warmup.num_calls'] == 5  # survives --resume
    # certification builds the model without its train_loss and ignores
    # that training-only state
    path = tmp_path / 'ckpt.pth'
    torch.save(dict(state_dict=state), path)
    smooth = MODELS.build(dict(
        type='SmoothedClassifier', sigma=SIGMA, checkpoint=str(path),
        classifier=dict(type='ImageClassifier', mean=[0.5], std=[0.5],
                        backbone=dict(type='SmallConvNet', widths=(4, 8)),
                        num_classes=5)))
    torch.testing.assert_close(smooth.classifier.head.weight,
                               model.head.weight)
