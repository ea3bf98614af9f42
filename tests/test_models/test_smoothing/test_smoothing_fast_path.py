"""The inference copy certification runs (BN and normalisation folded,
channels-last, micro-batches, optionally compiled) gives the plain path's
decisions and counts, whatever the batching."""
import pytest
import torch
from torch import nn

from rgl.models.smoothing import SmoothedClassifier
from rgl.models.smoothing.inference import (InferenceCache,
                                            NormalizedInputConv,
                                            fold_batchnorm,
                                            fold_normalization)
from rgl.registry import MODELS


def _calibrated_resnet(seed=0):
    """A depth-8 CIFAR ResNet classifier with non-trivial BN statistics and
    logits standardised over random images (so votes spread over classes)."""
    torch.manual_seed(seed)
    clf = MODELS.build(dict(
        type='ImageClassifier', num_classes=4,
        backbone=dict(type='CifarResNet', depth=8, in_channels=3,
                      base_width=4),
        mean=[0.49, 0.48, 0.45], std=[0.20, 0.19, 0.21]))
    for m in clf.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = None
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.2, 0.2)
    clf.train()
    with torch.no_grad():
        clf.logits(torch.rand(32, 3, 8, 8))
        clf.eval()
        logits = clf.logits(torch.rand(128, 3, 8, 8))
        clf.head.weight.div_(logits.std(0)[:, None])
        clf.head.bias.sub_(logits.mean(0)).div_(logits.std(0))
    return clf


def test_bn_folding_matches_the_hand_formula():
    conv, bn = nn.Conv2d(3, 5, 3, padding=1), nn.BatchNorm2d(5)
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-1, 1)
    net = nn.Sequential(conv, bn).eval()
    fused = fold_batchnorm(nn.Sequential(conv, bn).eval())
    convs = [m for m in fused.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 1
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    # W' = W γ / √(var + ε), b' = (b − μ) γ / √(var + ε) + β
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    torch.testing.assert_close(convs[0].weight,
                               conv.weight * scale[:, None, None, None])
    torch.testing.assert_close(
        convs[0].bias, (conv.bias - bn.running_mean) * scale + bn.bias)
    x = torch.randn(2, 3, 6, 6)
    with torch.no_grad():
        torch.testing.assert_close(fused(x), net(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('stride,padding,dilation',
                         [(1, 1, 1), (2, 1, 1), (1, 2, 2), (1, 0, 1)])
def test_normalisation_folding_is_exact_on_the_border(stride, padding,
                                                      dilation):
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 3, stride, padding, dilation=dilation)
    mean, std = torch.tensor([0.4, 0.5, 0.6]), torch.tensor([0.2, 0.25, 0.3])
    folded = NormalizedInputConv(conv, mean, std)
    x = torch.rand(2, 3, 9, 9)
    with torch.no_grad():
        expected = conv((x - mean[:, None, None]) / std[:, None, None])
        got = folded(x)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    if padding == 0:  # no padding, no border term
        assert folded.border_terms(9, 9) == []
        return
    # hand check of the corner pixel (0, 0) of channel 0 with stride 1
    # and padding 1: the 2×2 in-image part of the window, normalised
    if (stride, padding, dilation) == (1, 1, 1):
        z = (x[0, :, :2, :2] - mean[:, None, None]) / std[:, None, None]
        corner = (conv.weight[0, :, 1:, 1:] * z).sum() + conv.bias[0]
        torch.testing.assert_close(got[0, 0, 0, 0], corner)
        # only the one-pixel ring carries a border term
        rows = [t[0] for t in folded.border_terms(9, 9)]
        assert rows[:2] == [slice(0, 1), slice(8, 9)]


def test_fold_normalization_in_a_classifier():
    clf = _calibrated_resnet()
    fast = InferenceCache().get(clf, fold_bn=True, channels_last=True,
                                fold_normalize=True)
    assert not fast.normalize.enabled and clf.normalize.enabled
    assert isinstance(fast.backbone.conv1, NormalizedInputConv)
    x = torch.rand(8, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(
            fast.logits(x.contiguous(memory_format=torch.channels_last)),
            clf.logits(x), rtol=1e-4, atol=1e-4)
    # a classifier without a traceable single first conv is left alone
    seq = nn.Sequential(nn.Conv2d(3, 2, 1), nn.Flatten())
    assert fold_normalization(seq) is seq


def _smooth(clf, fast, **kw):
    flags = dict(fold_bn=fast, fold_normalize=fast, channels_last=fast,
                 micro_batch=16 if fast else None)
    flags.update(kw)
    return SmoothedClassifier(clf, sigma=0.25, amp=False, **flags)


def test_fast_path_gives_the_plain_decisions_and_counts():
    clf = _calibrated_resnet()
    x = torch.rand(3, 3, 8, 8, generator=torch.Generator().manual_seed(5))
    seeds = [(0, i) for i in range(3)]
    plain, fast = _smooth(clf, False), _smooth(clf, True)
    counts = plain.sample_counts(x, 300, 100, seeds=seeds)
    assert (counts > 0).sum() > 3  # votes spread: a non-trivial check
    assert torch.equal(fast.sample_counts(x, 300, 100, seeds=seeds), counts)
    # batch size and micro-batch do not change a count
    for batch, micro in ((37, 16), (900, 128), (64, 64)):
        fast.micro_batch = micro
        assert torch.equal(fast.sample_counts(x, 300, batch, seeds=seeds),
                           counts)
    p1, r1 = plain.certify(x, 50, 300, 0.1, 100, seeds=seeds)
    p2, r2 = fast.certify(x, 50, 300, 0.1, 128, seeds=seeds)
    assert torch.equal(p1, p2) and torch.equal(r1, r2)


def test_micro_batches_split_evenly():
    smooth = _smooth(nn.Linear(1, 2), True, micro_batch=128, num_classes=2)
    cpu = torch.device('cpu')
    assert smooth._chunk(cpu, 400) == 100  # 4 × 100, not 3 × 128 + 16
    assert smooth._chunk(cpu, 1000) == 125
    assert smooth._chunk(cpu, 64) == 64
    smooth.micro_batch = None
    assert smooth._chunk(cpu, 1000) == 1000


@pytest.mark.slow  # inductor compiles C++ kernels: ~20 s idle, cached after
def test_compiled_copy_gives_the_same_counts():
    pytest.importorskip('torch._inductor')
    clf = _calibrated_resnet(1)
    x = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(6))
    seeds = [(3, 0), (3, 1)]
    plain = _smooth(clf, False)
    compiled = _smooth(clf, True, compile=True, micro_batch=64)
    expected = plain.sample_counts(x, 150, 100, seeds=seeds)
    # 300 draws in batches of 100: chunks of 64 (the last one padded)
    assert torch.equal(compiled.sample_counts(x, 150, 100, seeds=seeds),
                       expected)
    assert torch.equal(compiled.sample_counts(x, 150, 128, seeds=seeds),
                       expected)
    assert compiled.inference_copy()._fn is not None  # it did compile


def test_compiled_copy_falls_back_when_compiling_fails(monkeypatch):
    from rgl.models.smoothing import inference

    def broken(*args, **kwargs):
        def fn(x):
            raise RuntimeError('no compiler')
        return fn

    monkeypatch.setattr(inference.torch, 'compile', broken)
    model = nn.Linear(3, 2).eval()
    wrapped = inference.CompiledClassifier(model)
    x = torch.rand(4, 3)
    with pytest.warns(UserWarning, match='torch.compile failed'):
        out = wrapped.logits(x)
    torch.testing.assert_close(out, model(x))
    torch.testing.assert_close(wrapped.logits(x), model(x))


def test_an_untraceable_backbone_keeps_its_normalisation_and_says_so():
    from rgl.models.smoothing import inference

    class Branchy(nn.Module):  # data-dependent control flow: fx fails
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)

        def forward(self, x):
            y = self.conv(x)
            return y if y.sum() > 0 else -y

    clf = _calibrated_resnet()
    clf.backbone = Branchy()
    clf.head = nn.Linear(4, 4)
    inference._WARNED.clear()
    with pytest.warns(UserWarning, match='normalisation folding skipped '
                      'for Branchy'):
        fast = InferenceCache().get(clf, fold_bn=False, fold_normalize=True)
    assert fast.normalize.enabled  # unfolded, so still correct
    x = torch.rand(2, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(fast.logits(x), clf.logits(x))
