import pytest
import torch
from mmpretrain.structures import DataSample
from torch import nn

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError

TINY = dict(depth=2, hidden_size=32, num_heads=4, patch_size=2)


class TokenEncoder(nn.Module):
    embed_dim = 8

    def __init__(self):
        super().__init__()
        self.proj = nn.Conv2d(1, 8, 2, 2)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class ScaleVAE(nn.Module):
    """A stand-in latent autoencoder: z = 2x − 1 downsampled by 2."""

    def encode(self, x):
        return nn.functional.avg_pool2d(x * 2 - 1, 2)

    def decode(self, z):
        return nn.functional.interpolate((z + 1) / 2, scale_factor=2)


def batch(n=4, size=8):
    return dict(
        inputs=[torch.randint(0, 256, (1, size, size), dtype=torch.uint8)
                for _ in range(n)],
        data_samples=[DataSample().set_gt_label(i % 3) for i in range(n)])


def flow(**kwargs):
    return MODELS.build(dict(
        type='FlowMatching',
        backbone=dict(type='SiT', arch=TINY, input_size=8, in_channels=1,
                      num_classes=3), **kwargs))


def test_flow_loss_equals_hand_computation():
    model = flow(label_dropout=0.0)
    data = model.data_preprocessor(batch(), True)
    torch.manual_seed(0)
    losses = model(**data, mode='loss')
    torch.manual_seed(0)  # same draws: t, then ε
    x = data['inputs'] * 2 - 1
    t = torch.rand(4)
    eps = torch.randn_like(x)
    # the zero-initialised network predicts v = 0
    ref = ((eps - x)**2).mean(dim=(1, 2, 3)).mean()
    torch.testing.assert_close(losses['loss_denoise'], ref)
    assert t.shape == (4, )


def test_label_dropout_rate_and_eval():
    model = flow(label_dropout=0.1).train()
    torch.manual_seed(0)
    y = model.drop_labels(torch.zeros(20000, dtype=torch.long))
    rate = (y == 3).float().mean().item()
    assert abs(rate - 0.1) < 0.01
    model.eval()
    assert (model.drop_labels(torch.zeros(10, dtype=torch.long)) == 0).all()


def test_flow_with_repa_aligner_and_pre_extracted_features():
    model = flow(aligners=dict(type='REPAAligner', encoders=[TokenEncoder()],
                               depth=1, projector_dim=16))
    data = model.data_preprocessor(batch(), True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_denoise', 'loss_repa', 'repa_cos'}
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    assert model.aligners[0].projectors[0][0].weight.grad is not None
    # pre-extracted features replace the encoders
    raw = batch()
    raw['features'] = [[torch.randn(16, 8) for _ in range(4)]]
    data = model.data_preprocessor(raw, True)
    assert data['features'][0].shape == (4, 16, 8)
    assert 'loss_repa' in model(**data, mode='loss')


def test_vae_latent_space_and_sampling_determinism():
    model = MODELS.build(dict(
        type='FlowMatching',
        backbone=dict(type='SiT', arch=TINY, input_size=4, in_channels=1,
                      num_classes=3),
        vae=ScaleVAE(),
        sampler=dict(type='ODESampler', num_steps=4)))
    assert not any('vae' in k for k in model.state_dict())
    data = model.data_preprocessor(batch(size=8), True)
    assert torch.isfinite(model(**data, mode='loss')['loss_denoise'])
    # latent datasets declare their inputs: they are used as they are and
    # the images go to the encoders
    raw = dict(inputs=[torch.randn(1, 4, 4) * 3 for _ in range(4)],
               data_samples=[DataSample(metainfo=dict(input_space='latent'))
                             .set_gt_label(i % 3) for i in range(4)])
    raw['images'] = [torch.randint(0, 256, (1, 8, 8), dtype=torch.uint8)
                     for _ in range(4)]
    data = model.data_preprocessor(raw, True)
    assert data['images'].max() <= 1 and data['input_space'] == 'latent'
    model(**data, mode='loss')
    g1 = torch.Generator().manual_seed(3)
    g2 = torch.Generator().manual_seed(3)
    a = model.sample(torch.tensor([0, 1]), generator=g1)
    b = model.sample(torch.tensor([0, 1]), generator=g2)
    assert a.shape == (2, 1, 8, 8) and torch.equal(a, b)
    assert 0 <= a.min() and a.max() <= 1


def test_ddpm_algorithm_loss_and_samplers():
    model = MODELS.build(dict(
        type='DDPM',
        backbone=dict(type='DiT', arch=TINY, input_size=8, in_channels=1,
                      num_classes=3),
        num_timesteps=100))
    data = model.data_preprocessor(batch(), True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_mse', 'loss_vlb'}
    for sampler in (dict(type='DDPMSampler', num_steps=10, cfg_scale=2.0),
                    dict(type='DDIMSampler', num_steps=5)):
        out = model.sample(torch.tensor([0, 3]), sampler=sampler)
        assert out.shape == (2, 1, 8, 8)


def test_bad_config():
    with pytest.raises(ConfigError, match='prediction'):
        flow(prediction='eps')
    with pytest.raises(ConfigError, match='label_dropout'):
        flow(label_dropout=1.5)
