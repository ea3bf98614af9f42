import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample
from torch import nn

from rgl.models.classifiers import ImageClassifier
from rgl.registry import MODELS
from rgl.utils import ConfigError


def _batch(n=4, size=16):
    torch.manual_seed(0)
    samples = [DataSample().set_gt_label(i % 10) for i in range(n)]
    return torch.rand(n, 1, size, size), samples


def _model(**kw):
    return ImageClassifier(
        backbone=dict(type='SmallConvNet', widths=(8, 16)), num_classes=10,
        mean=[0.5], std=[0.25], **kw)


def test_modes_and_the_normalisation_inside_the_model():
    model = _model().eval()
    x, samples = _batch()
    logits = model(x, mode='tensor')
    assert logits.shape == (4, 10)
    # f(x) = head(pool(backbone((x - mean) / std)))
    feats = model.backbone((x - 0.5) / 0.25).mean(dim=(2, 3))
    torch.testing.assert_close(logits, model.head(feats))
    loss = model(x, samples, mode='loss')['loss_cls']
    labels = torch.tensor([s.gt_label.item() for s in samples])
    torch.testing.assert_close(loss, F.cross_entropy(logits, labels))
    preds = model(x, samples, mode='predict')
    torch.testing.assert_close(preds[0].pred_score, logits[0].softmax(0))
    assert preds[0].pred_label.item() == logits[0].argmax().item()


@MODELS.register_module(force=True)
class _ScaledCE(nn.Module):
    """A stand-in robust objective: checks the train_loss call contract."""

    def forward(self, classifier, inputs, labels):
        return dict(loss_scaled=2 * F.cross_entropy(classifier(inputs),
                                                    labels))


def test_train_loss_receives_the_classifier_inputs_and_labels():
    model = _model(train_loss=dict(type='_ScaledCE')).eval()
    plain = _model().eval()
    plain.load_state_dict(model.state_dict())
    x, samples = _batch()
    robust = model(x, samples, mode='loss')
    assert list(robust) == ['loss_scaled']
    torch.testing.assert_close(robust['loss_scaled'],
                               2 * plain(x, samples, mode='loss')['loss_cls'])


def test_feature_dim_from_other_backbones():
    model = ImageClassifier(
        backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=18,
                      in_channels=1),
        num_classes=10, in_channels=512)
    assert model(torch.rand(2, 1, 16, 16)).shape == (2, 10)
    with pytest.raises(ConfigError, match='in_channels'):
        ImageClassifier(backbone=nn.Identity(), num_classes=3)
    with pytest.raises(ConfigError, match='num_classes'):
        _model.__wrapped__ if False else ImageClassifier(
            backbone=dict(type='SmallConvNet'), num_classes=0)


def test_uint8_batches_are_scaled_by_the_preprocessor():
    model = _model()
    x, samples = _batch()
    data = model.data_preprocessor(
        dict(inputs=list((x * 255).round().to(torch.uint8)),
             data_samples=samples))
    assert data['inputs'].dtype == torch.float32
    torch.testing.assert_close(data['inputs'], x, atol=1 / 255, rtol=0)


def _aligned_model(train_loss=None):
    encoder = dict(type='TimmViTEncoder',
                   model_name='vit_tiny_patch16_224',
                   model_kwargs=dict(patch_size=8, depth=1),
                   input_size=16)
    return ImageClassifier(
        backbone=dict(type='SmallConvNet', widths=(8, 16)), num_classes=10,
        train_loss=train_loss,
        aligners=[dict(type='REPAAligner', layer='stages.0', in_dim=8,
                       encoders=encoder, projector_dim=32,
                       resample_tokens=True)])  # 2x2 encoder grid -> 8x8


def test_alignment_loss_equals_a_hand_computation_on_clean_inputs():
    torch.manual_seed(0)
    model = _aligned_model()
    x, samples = _batch()
    losses = model(x, samples, mode='loss')
    aligner = model.aligners[0]
    with torch.no_grad():
        hidden = model.backbone.stages[0](model.normalize(x))  # (4, 8, 8, 8)
        tokens = hidden.flatten(2).transpose(1, 2)  # (4, 64, 8)
        pred = aligner.projectors[0](tokens)
        target = aligner.encode(x)[0]  # (4, 4, D): a 2x2 grid ...
        target = F.interpolate(  # ... brought to the 8x8 grid
            target.transpose(1, 2).reshape(4, -1, 2, 2), size=(8, 8),
            mode='bilinear', align_corners=False).flatten(2).transpose(1, 2)
        cos = F.cosine_similarity(pred, target, dim=-1).mean()
    torch.testing.assert_close(losses['loss_repa'].detach(), -0.5 * cos)


def test_aligner_on_noisy_copies_targets_repeated_clean_features():
    torch.manual_seed(0)
    model = _aligned_model(
        train_loss=dict(type='GaussianAugmentationLoss', sigma=0.5,
                        num_noise=3))
    x, samples = _batch()
    seen = []
    model.aligners[0].encode = lambda imgs, f=model.aligners[0].encode: (
        seen.append(imgs) or f(imgs))
    losses = model(x, samples, mode='loss')
    assert {'loss_repa', 'repa_cos'} <= set(losses)
    assert len(seen) == 1 and torch.equal(seen[0], x)  # clean targets
    losses['loss_repa'].backward()
    assert model.aligners[0].projectors[0][0].weight.grad is not None
    assert model.backbone.stages[0][0].weight.grad is not None


def test_aligner_weights_are_dropped_when_loading_without_aligners():
    aligned = _aligned_model()
    plain = _model()
    plain.normalize = aligned.normalize
    plain.load_state_dict(aligned.state_dict(), strict=True)
