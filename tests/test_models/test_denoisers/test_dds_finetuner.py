"""The MDDS diffusion fine-tuning objective (reconstructed; see
docs/methods/dds.md)."""
import pytest
import torch

from rgl.models.denoisers import calibration_losses
from rgl.utils.errors import ConfigError

DDPM = dict(type='DDPM', num_timesteps=1000,
            backbone=dict(type='DiT', arch=dict(depth=1, hidden_size=32,
                                                num_heads=2, patch_size=2),
                          input_size=8, in_channels=1, num_classes=10))
CLF = dict(type='ImageClassifier', num_classes=10,
           backbone=dict(type='SmallConvNet', in_channels=1, widths=(8, 8)))


def test_losses_against_hand_computation():
    probs = torch.tensor([[[0.7, 0.2, 0.1], [0.5, 0.4, 0.1]],
                          [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    labels = torch.tensor([0, 2])
    out = calibration_losses(probs, labels)
    b0 = ((0.3**2 + 0.2**2 + 0.1**2) + (0.5**2 + 0.4**2 + 0.1**2)) / 2
    b1 = ((1 + 0 + 1) + (0 + 1 + 1)) / 2
    torch.testing.assert_close(out['brier'], torch.tensor([b0, b1]))
    mean0 = torch.tensor([0.6, 0.3, 0.1])
    # two confident copies that disagree: p̄ = (½, ½, 0)
    want = torch.stack([(mean0**2).sum(), torch.tensor(0.5)]) - 1 / 3
    torch.testing.assert_close(out['anti_consistency'], want)
    assert out['recoverable'].tolist() == [True, False]
    # a uniform average is the minimum (0) of the anti-consistency term
    flat = calibration_losses(torch.full((1, 3, 4), 0.25), labels[:1])
    assert flat['anti_consistency'].item() == pytest.approx(0.0, abs=1e-7)


def test_step_trains_the_denoiser_only():
    from rgl.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(dict(type='DenoiserFinetuner',
                              denoiser=dict(type='DDPMDenoiser', model=DDPM),
                              classifier=CLF, sigmas=(0.25, 0.5),
                              num_noises=3))
    assert not any(n.startswith('_classifier') or 'classifier' in n
                   for n in model.state_dict())
    params = [p for p in model.parameters() if p.requires_grad]
    assert params and all(p.requires_grad for p in
                          model.denoiser.network.parameters())
    from mmpretrain.structures import DataSample
    x = torch.rand(4, 1, 8, 8)
    samples = [DataSample().set_gt_label(i % 10) for i in range(4)]
    model.train()
    losses = model(x, samples, mode='loss')
    assert {'loss_brier', 'loss_anti_consistency', 'loss_mse_diffusion',
            'loss_vlb_diffusion', 'recoverable'} <= set(losses)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.denoiser.network.parameters())
    assert all(p.grad is None for p in model.classifier.parameters())
    assert not model.classifier.training


def test_finetuned_checkpoint_loads_into_the_denoiser(tmp_path):
    from rgl.models.denoisers import DDPMDenoiser
    from rgl.registry import MODELS
    model = MODELS.build(dict(type='DenoiserFinetuner',
                              denoiser=dict(type='DDPMDenoiser', model=DDPM),
                              classifier=CLF))
    with torch.no_grad():
        for p in model.denoiser.network.parameters():
            p.add_(0.01)
    path = tmp_path / 'ft.pth'
    torch.save(dict(state_dict=model.state_dict()), path)
    den = DDPMDenoiser(model=DDPM, checkpoint=str(path),
                       checkpoint_prefix='denoiser.model.')
    for k, v in model.denoiser.model.state_dict().items():
        torch.testing.assert_close(den.model.state_dict()[k], v)


def test_bad_configs():
    from rgl.registry import MODELS
    with pytest.raises(ConfigError, match='sigma'):
        MODELS.build(dict(type='DenoiserFinetuner',
                          denoiser=dict(type='DDPMDenoiser', model=DDPM),
                          classifier=CLF, sigmas=(0.5, 1000.0)))
    for key, value in (('num_noises', 0), ('anti_consistency_weight', -1.0),
                       ('diffusion_weight', 'x')):
        with pytest.raises(ConfigError, match=f'model.{key}'):
            MODELS.build(dict(type='DenoiserFinetuner',
                              denoiser=dict(type='DDPMDenoiser', model=DDPM),
                              classifier=CLF, **{key: value}))
    with pytest.raises(ConfigError, match='model.denoiser'):
        MODELS.build(dict(type='DenoiserFinetuner', classifier=CLF,
                          denoiser=dict(type='FlowMatchingDenoiser',
                                        model=dict(type='FlowMatching',
                                                   backbone=DDPM['backbone']
                                                   ))))
