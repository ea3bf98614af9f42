import numpy as np
import pytest
import torch
from scipy.stats import norm
from torch import nn

from rgl.models.smoothing import ABSTAIN, SmoothedClassifier
from rgl.utils.errors import CheckpointError, ConfigError, DataError


class Threshold(nn.Module):
    """f(x) = 1 if the first pixel exceeds t else 0, so under N(0, σ²)
    noise P(f(x+δ) = 0) = Φ((t − x₀)/σ) exactly."""

    def __init__(self, t=0.5, num_classes=2):
        super().__init__()
        self.t = t
        self.k = num_classes
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        v = x.flatten(1)[:, 0] - self.t
        out = torch.zeros(x.shape[0], self.k)
        out[:, 0], out[:, 1] = -v, v
        return out


def _images(values, size=4):
    x = torch.zeros(len(values), 1, size, size)
    x[:, 0, 0, 0] = torch.tensor(values)
    return x


def test_counts_match_known_probabilities_across_images():
    smooth = SmoothedClassifier(Threshold(), sigma=0.5, num_classes=2)
    x = _images([0.0, 0.5, 1.0])
    g = torch.Generator().manual_seed(0)
    # batch 70 does not divide 3 * 2000: batches straddle two images
    counts = smooth.sample_counts(x, 2000, 70, generator=g)
    assert counts.shape == (3, 2)
    assert (counts.sum(1) == 2000).all()
    p0 = norm.cdf((0.5 - np.array([0.0, 0.5, 1.0])) / 0.5)
    freq = counts[:, 0].numpy() / 2000
    sd = np.sqrt(p0 * (1 - p0) / 2000)
    assert np.all(np.abs(freq - p0) < 5 * sd + 1e-9)


def test_certified_radius_agrees_with_theory():
    sigma, x0 = 0.25, 0.2
    p_a = norm.cdf((0.5 - x0) / sigma)  # class 0
    true_radius = sigma * norm.ppf(p_a)
    smooth = SmoothedClassifier(Threshold(), sigma=sigma, num_classes=2)
    g = torch.Generator().manual_seed(1)
    pred, radius = smooth.certify(_images([x0] * 40), 50, 2000, 0.01, 4000,
                                  generator=g)
    assert (pred == 0).all()
    r = radius.numpy()
    # a (1 − α) lower bound: the radius rarely exceeds the truth ...
    assert (r > true_radius).mean() <= 0.1
    # ... and with n = 2000 it is close to it
    assert abs(np.median(r) - true_radius) < 0.08


def test_lower_bound_coverage():
    """P(p_A_lower > p_A) <= α: checked on 400 independent runs."""
    sigma, x0, alpha = 1.0, 0.0, 0.1
    p_a = norm.cdf(0.5 / sigma)
    smooth = SmoothedClassifier(Threshold(), sigma=sigma, num_classes=2)
    g = torch.Generator().manual_seed(2)
    pred, radius = smooth.certify(_images([x0] * 400), 20, 100, alpha, 10000,
                                  generator=g)
    certified = pred == 0
    over = (radius[certified].numpy() > sigma * norm.ppf(p_a)).sum()
    assert over <= 400 * alpha + 3 * np.sqrt(400 * alpha * (1 - alpha))


def test_abstains_near_the_boundary_and_with_few_draws():
    smooth = SmoothedClassifier(Threshold(), sigma=0.5, num_classes=2)
    g = torch.Generator().manual_seed(3)
    # p_A = 1/2 exactly: CERTIFY abstains, PREDICT abstains
    pred, radius = smooth.certify(_images([0.5] * 8), 10, 200, 0.001, 1000,
                                  generator=g)
    assert (pred == ABSTAIN).all() and (radius == 0).all()
    assert (smooth.predict(_images([0.5] * 8), 200, 0.001, 1000,
                           generator=g) == ABSTAIN).all()
    # locuslab#8: at α = 0.001, n = 9 cannot certify even p_A = 1
    # (0.001^(1/9) < 1/2) and PREDICT needs p = 2/2^10 <= α at n = 10
    pred, radius = smooth.certify(_images([-5.0]), 10, 9, 0.001, 100,
                                  generator=g)
    assert pred[0] == ABSTAIN and radius[0] == 0
    assert smooth.predict(_images([-5.0]), 10, 0.001, 100)[0] == ABSTAIN
    # ... but PREDICT with enough draws on a clear image answers
    assert smooth.predict(_images([-5.0])[0], 100, 0.001, 100,
                          generator=g).item() == 0


def test_single_image_returns_scalars():
    smooth = SmoothedClassifier(Threshold(), sigma=0.5, num_classes=2)
    pred, radius = smooth.certify(_images([-2.0])[0], 10, 100, 0.01, 64)
    assert pred.dim() == 0 and radius.dim() == 0 and pred.item() == 0
    assert radius.item() == pytest.approx(
        0.5 * norm.ppf(0.01**(1 / 100)), rel=1e-6)


@pytest.mark.parametrize('kwargs,key', [
    (dict(n0=0), 'n0'), (dict(n=-1), 'n'), (dict(alpha=0.0), 'alpha'),
    (dict(alpha=1.5), 'alpha'), (dict(batch_size=0), 'batch_size')])
def test_bad_sampling_arguments(kwargs, key):
    smooth = SmoothedClassifier(Threshold(), sigma=0.5, num_classes=2)
    args = dict(n0=10, n=100, alpha=0.01, batch_size=10)
    args.update(kwargs)
    with pytest.raises(ConfigError, match=key):
        smooth.certify(_images([0.0]), **args)


@pytest.mark.parametrize('sigma', [0, -0.25, float('nan')])
def test_bad_sigma(sigma):
    with pytest.raises(ConfigError, match='sigma'):
        SmoothedClassifier(Threshold(), sigma=sigma, num_classes=2)


def test_wrong_shape_and_mismatched_num_classes():
    smooth = SmoothedClassifier(Threshold(num_classes=3), sigma=0.5,
                                num_classes=2)
    with pytest.raises(DataError, match='shape'):
        smooth.certify(_images([0.0]), 10, 10, 0.01, 10)
    model = dict(type='ImageClassifier',
                 backbone=dict(type='SmallConvNet', widths=(4, )),
                 num_classes=10)
    with pytest.raises(ConfigError, match='num_classes'):
        SmoothedClassifier(model, sigma=0.5, num_classes=5)


def test_builds_from_config_and_loads_checkpoint(tmp_path):
    from rgl.registry import MODELS
    model = dict(type='ImageClassifier', mean=[0.5], std=[0.5],
                 backbone=dict(type='SmallConvNet', widths=(4, 8)),
                 num_classes=10)
    trained = MODELS.build(model)
    torch.nn.init.normal_(trained.head.weight)
    path = tmp_path / 'epoch_1.pth'
    torch.save(dict(meta=dict(epoch=1), state_dict=trained.state_dict()),
               path)
    smooth = MODELS.build(dict(type='SmoothedClassifier', classifier=model,
                               sigma=0.25, checkpoint=str(path)))
    assert smooth.num_classes == 10
    torch.testing.assert_close(smooth.classifier.head.weight,
                               trained.head.weight)
    x = torch.rand(3, 1, 8, 8)
    trained.eval()
    torch.testing.assert_close(smooth(x), trained.logits(x))
    pred, radius = smooth.certify(x, 8, 32, 0.1, 50)
    assert pred.shape == radius.shape == (3, )
    bad = tmp_path / 'bad.pth'
    torch.save(dict(state_dict=dict(foo=torch.zeros(1))), bad)
    with pytest.raises(CheckpointError, match='bad.pth'):
        SmoothedClassifier(model, sigma=0.25, checkpoint=str(bad))


def test_denoiser_is_called_with_sigma():
    seen = []

    class Denoiser(nn.Module):
        def denoise(self, x, sigma):
            seen.append(sigma)
            return torch.full_like(x, -3.0)  # always class 0 after

    smooth = SmoothedClassifier(Threshold(), sigma=0.5, num_classes=2,
                                denoiser=Denoiser())
    counts = smooth.sample_counts(_images([3.0]), 100, 50)
    assert counts[0].tolist() == [100, 0]
    assert seen == [0.5, 0.5]


def test_folded_inference_copy_is_the_same_function_and_stays_fresh():
    from rgl.registry import MODELS
    model = dict(type='ImageClassifier', mean=[0.5], std=[0.5],
                 backbone=dict(type='SmallConvNet', widths=(4, 8)),
                 num_classes=10)
    smooth = MODELS.build(dict(type='SmoothedClassifier', classifier=model,
                               sigma=0.25))
    clf = smooth.classifier
    # non-trivial BatchNorm statistics
    clf.train()
    with torch.no_grad():
        clf.logits(torch.rand(64, 1, 8, 8) * 3)
    clf.eval()
    fast = smooth._fast.get(clf, fold_bn=True, channels_last=True)
    assert fast is not clf
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
    x = torch.rand(16, 1, 8, 8)
    torch.testing.assert_close(fast.logits(x), clf.logits(x), rtol=1e-4,
                               atol=1e-5)
    assert smooth._fast.get(clf, True, True) is fast  # cached
    smooth.sample_counts(x, 4, 32)
    # the classifier stays trainable after certification (no inference
    # tensors) and a weight update refreshes the folded copy
    opt = torch.optim.SGD(clf.parameters(), lr=0.1)
    clf.logits(x).sum().backward()
    opt.step()
    clf.eval()
    fresh = smooth._fast.get(clf, True, True)
    assert fresh is not fast
    torch.testing.assert_close(fresh.logits(x), clf.logits(x), rtol=1e-4,
                               atol=1e-5)


def test_cpu_bf16_autocast_is_opt_in():
    smooth = SmoothedClassifier(Threshold(), sigma=0.5, num_classes=2)
    assert isinstance(smooth._autocast(torch.device('cpu')),
                      __import__('contextlib').nullcontext)
    smooth.cpu_bf16 = True
    with smooth._autocast(torch.device('cpu')):
        y = torch.nn.Linear(4, 2)(torch.rand(3, 4))
    assert y.dtype == torch.bfloat16


def test_wraps_a_timm_network_returning_logits():
    import timm
    net = timm.create_model('resnet10t', pretrained=False, num_classes=3)
    # the normalisation goes in front of the network: noise stays in [0, 1]
    from rgl.models.utils import Normalize
    clf = nn.Sequential(Normalize([0.5] * 3, [0.25] * 3), net).eval()
    smooth = SmoothedClassifier(clf, sigma=0.25, num_classes=3)
    x = torch.rand(2, 3, 32, 32)
    counts = smooth.sample_counts(x, 20, 16)
    assert counts.shape == (2, 3) and (counts.sum(1) == 20).all()
    # σ → 0: every vote goes to the clean prediction of the same network
    smooth.sigma = 1e-6
    counts = smooth.sample_counts(x, 8, 16)
    with torch.no_grad():
        clean = clf(x).argmax(1)
    assert counts.argmax(1).tolist() == clean.tolist()
    assert (counts.max(1).values == 8).all()


class Recorder(nn.Module):
    """Records every noisy batch; votes class 0."""

    def __init__(self):
        super().__init__()
        self.seen = []
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        self.seen.append(x.detach().clone().contiguous())
        return torch.zeros(x.shape[0], 2)


def _draws(idx, num, batch, stream='estimate', sigma=0.5, seed=0):
    """The noisy copies ``(B, num, C, H, W)`` the classifier saw for the
    images ``idx`` of a fixed set (image-major order)."""
    rec = Recorder()
    # one worker: the recorder's list is in call order (with several
    # workers the micro-batches run concurrently)
    smooth = SmoothedClassifier(rec, sigma=sigma, num_classes=2, workers=1)
    images = torch.rand(6, 3, 5, 5, generator=torch.Generator().manual_seed(9))
    smooth.sample_counts(images[idx], num, batch, stream=stream,
                         seeds=[(seed, i) for i in idx])
    seen = torch.cat(rec.seen).view(len(idx), num, 3, 5, 5)
    return seen - images[idx][:, None]


def test_per_image_draws_do_not_depend_on_batching_or_neighbours():
    # 250 draws = 2.5 noise blocks; batches of 1000, 37 and 7 cut the
    # blocks and the images at different places
    ref = _draws([0, 1, 2, 3], 250, 1000)
    assert torch.equal(ref, _draws([0, 1, 2, 3], 250, 37))
    # another group (other neighbours, another order): the same draws
    assert torch.equal(ref[[3, 1]], _draws([3, 1], 250, 7))
    # draw i does not depend on num: n = 120 is a prefix of n = 250
    assert torch.equal(ref[2, :120], _draws([2], 120, 64)[0])
    # ... but on the seed, the stream, the image and the block
    assert not torch.equal(ref[0], _draws([0], 250, 250, seed=1)[0])
    assert not torch.equal(ref[0], _draws([0], 250, 250, 'select')[0])
    assert not torch.equal(ref[0, :100], ref[1, :100])
    assert not torch.equal(ref[0, :100], ref[0, 100:200])


def test_per_image_noise_is_gaussian_with_sigma():
    noise = _draws([0, 1, 2, 3, 4, 5], 1000, 512, sigma=0.25)
    n = noise.numel()  # 450,000 values
    assert abs(noise.mean().item()) < 5 * 0.25 / n**0.5
    assert abs(noise.std().item() / 0.25 - 1) < 0.01
    # 60 blocks of 100 draws, no two alike
    blocks = noise.reshape(60, -1)
    assert torch.unique(blocks, dim=0).shape[0] == 60


def test_certify_and_predict_rows_are_functions_of_the_image():
    smooth = SmoothedClassifier(Threshold(), sigma=0.5, num_classes=2)
    # images near the boundary: any change of the draws changes the counts
    x = _images([0.3, 0.45, 0.5, 0.55, 0.7])
    seeds = [(7, i) for i in range(5)]
    pred, radius = smooth.certify(x, 50, 730, 0.1, 1000, seeds=seeds)
    for batch in (33, 256):
        p2, r2 = smooth.certify(x, 50, 730, 0.1, batch, seeds=seeds)
        assert torch.equal(pred, p2) and torch.equal(radius, r2)
    p3, r3 = smooth.certify(x[2:4], 50, 730, 0.1, 99, seeds=seeds[2:4])
    assert torch.equal(pred[2:4], p3) and torch.equal(radius[2:4], r3)
    counts = smooth.sample_counts(x, 730, 1000, seeds=seeds)
    assert torch.equal(counts[1:2], smooth.sample_counts(
        x[1:2], 730, 61, seeds=seeds[1:2]))
    # PREDICT draws from its own stream, with the same invariance
    votes = smooth.sample_counts(x, 200, 1000, seeds=seeds, stream='predict')
    single = smooth.predict(x[1], 200, 0.5, 17, seeds=seeds[1:2])
    top2 = votes[1].topk(2).values.tolist()
    from rgl.models.smoothing import binomial_two_sided_pvalue
    expected = (votes[1].argmax().item() if
                binomial_two_sided_pvalue(*top2)[0] <= 0.5 else ABSTAIN)
    assert single.item() == expected
    assert torch.equal(smooth.predict(x, 200, 0.5, 1000, seeds=seeds),
                       smooth.predict(x, 200, 0.5, 77, seeds=seeds))
    with pytest.raises(DataError, match='one key per image'):
        smooth.certify(x, 10, 10, 0.1, 10, seeds=seeds[:2])


def test_per_image_seconds_share_each_batch_by_draws():
    from rgl.models.smoothing.noise import apportion_seconds
    # num = 100 draws per image, batches [0, 150) 3 s and [150, 300) 1 s:
    # image 0 all of batch 1's first 100, image 1 its last 50 + 50 of the
    # second batch, image 2 the last 100 of it
    got = apportion_seconds([(0, 150), (150, 300)], [3.0, 1.0], 100, 3)
    assert got == pytest.approx([2.0, 1.0 + 1 / 3, 2 / 3])
    smooth = SmoothedClassifier(Threshold(), sigma=0.5, num_classes=2)
    pred, radius, sec = smooth.certify(_images([0.0, 1.0, 0.2]), 10, 200,
                                       0.1, 64, seeds=[0, 1, 2],
                                       return_seconds=True)
    assert sec.shape == (3, ) and (sec > 0).all()
    counts, sec = smooth.sample_counts(_images([0.0]), 10, 4,
                                       return_seconds=True)
    assert counts.sum() == 10 and sec.shape == (1, )
