import pytest
import torch

from rgl.models.rewards.finetune import (DiffusionPolicy, best_of_n,
                                         hacking_steps, item_generator,
                                         policy_gradient_loss,
                                         supervised_loss)
from rgl.utils.errors import CheckpointError, ConfigError

PROMPTS = ['a cat', 'a dog', 'two cats']


@pytest.fixture(scope='module')
def pipe_dir(tmp_path_factory):
    from rgl.models.distillers.tiny import build_tiny_pipeline
    return build_tiny_pipeline(str(tmp_path_factory.mktemp('sd')),
                               kind='stable_diffusion')


def test_policy_gradient_step_changes_only_lora(pipe_dir):
    torch.manual_seed(0)
    pol = DiffusionPolicy(pipe_dir, num_steps=3, resolution=16, lora_rank=2)
    before = {n: p.detach().clone() for n, p in pol.unet.named_parameters()}
    frozen = {n: p.detach().clone() for n, p in
              list(pol.vae.named_parameters())
              + list(pol.text_encoder.named_parameters())}
    batch = pol.sample(PROMPTS, seed=0)
    assert batch['images'].shape == (3, 3, 16, 16)
    assert batch['latents'].shape[:2] == (4, 3)
    # the stored log-probs are the policy's own densities of its steps
    out = policy_gradient_loss(pol, batch, torch.zeros(3), beta=0.0)
    assert out['loss_pg'] == 0.0
    opt = torch.optim.SGD(pol.lora_parameters(), lr=0.1)
    for _ in range(2):  # LoRA B starts at 0: A moves from the 2nd step
        out = policy_gradient_loss(pol, batch, torch.tensor([1., 0., -1.]),
                                   beta=0.1)
        opt.zero_grad()
        out['loss'].backward()
        opt.step()
    changed = {n for n, p in pol.unet.named_parameters()
               if not torch.equal(p, before[n])}
    assert changed and all('lora' in n for n in changed)
    assert changed == {n for n, _ in pol.unet.named_parameters()
                       if 'lora' in n}
    for n, p in list(pol.vae.named_parameters()) + \
            list(pol.text_encoder.named_parameters()):
        assert torch.equal(p, frozen[n]), n
    # the KL term is 0 for the reference UNet and positive after updates
    assert out['kl'] > 0


def test_log_prob_matches_normal(pipe_dir):
    x = torch.randn(2, 4, 2, 2)
    mean = torch.randn(2, 4, 2, 2)
    want = torch.distributions.Normal(mean, 0.3).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(DiffusionPolicy.log_prob(x, mean, 0.3), want)


def test_seeds_per_item_and_best_of_n(pipe_dir):
    pol = DiffusionPolicy(pipe_dir, num_steps=2, resolution=16, lora_rank=2)
    a = pol.sample(PROMPTS, seed=3)
    b = pol.sample(PROMPTS[1:], seed=3, start_index=1)
    torch.testing.assert_close(a['latents'][:, 1:], b['latents'],
                               rtol=1e-4, atol=1e-4)
    g1, g2 = item_generator(3, 1), item_generator(3, 1)
    assert torch.equal(torch.randn(3, generator=g1),
                       torch.randn(3, generator=g2))

    def brightness(images, prompts):
        return images.mean((1, 2, 3))
    best = best_of_n(pol, brightness, ['a cat', 'a dog'], n=3, seed=0)
    assert best['images'].shape == (2, 3, 16, 16)
    torch.testing.assert_close(best['rewards'],
                               best['all_rewards'].max(1).values)
    torch.testing.assert_close(brightness(best['images'], None),
                               best['rewards'])
    loss = supervised_loss(pol, best['images'], ['a cat', 'a dog'])
    loss.backward()
    assert all(p.grad is None for n, p in pol.unet.named_parameters()
               if 'lora' not in n)


def test_hacking_detection_and_errors(pipe_dir, tmp_path):
    raw = [0, 1, 2, 3, 4, 5, 6, 7]
    cal = [0, 1, 2, 3, 2, 1, 0, -1]
    # moving averages over 2 steps fall from the window ending at step 5
    assert hacking_steps(raw, cal, window=2) == [5, 6, 7]
    assert hacking_steps(raw, raw, window=2) == []
    with pytest.raises(ConfigError, match='eta'):
        DiffusionPolicy(pipe_dir, eta=0.0)
    with pytest.raises(CheckpointError, match='model_index.json'):
        DiffusionPolicy(str(tmp_path))


@pytest.mark.parametrize('prediction_type', ['epsilon', 'v_prediction'])
def test_step_mean_is_diffusers_ddim_step(pipe_dir, prediction_type):
    # the policy's mean is DDIM's step with zero noise, for ε- and
    # v-prediction UNets (SD 2.1 768 is v-prediction)
    from diffusers import DDIMScheduler
    from rgl.models.rewards.finetune import load_pipeline
    pipe = load_pipeline(pipe_dir)
    pipe.scheduler = DDIMScheduler.from_config(
        pipe.scheduler.config, prediction_type=prediction_type)
    pol = DiffusionPolicy(pipe, num_steps=4, eta=1.0, resolution=16)
    assert pol.prediction_type == prediction_type
    torch.manual_seed(0)
    x = torch.randn(2, 4, 2, 2)
    emb = pol.encode_prompts(PROMPTS[:2])
    ref = DDIMScheduler.from_config(pipe.scheduler.config)
    ref.set_timesteps(4)
    for t in ref.timesteps[:2]:
        with torch.no_grad():
            mean, std = pol.step_mean_std(x, t, emb)
            out = pol.unet(x, t, encoder_hidden_states=emb).sample
        step = ref.step(out, t, x, eta=1.0,
                        variance_noise=torch.zeros_like(x))
        torch.testing.assert_close(mean, step.prev_sample, atol=1e-5,
                                   rtol=1e-4)


def test_classifier_free_guidance(pipe_dir):
    pol = DiffusionPolicy(pipe_dir, num_steps=2, resolution=16,
                          guidance_scale=3.0)
    torch.manual_seed(0)
    x = torch.randn(2, 4, 2, 2)
    emb = pol.encode_prompts(PROMPTS[:2])
    t = pol.scheduler.timesteps[0]
    with torch.no_grad():
        c = pol.unet(x, t, encoder_hidden_states=emb).sample
        u = pol.unet(x, t, encoder_hidden_states=pol.encode_prompts(
            ['', '']))[0]
        guided = pol.predict(x, t, emb)
    torch.testing.assert_close(guided, u + 3.0 * (c - u), atol=1e-5,
                               rtol=1e-4)
    with pytest.raises(ConfigError, match='guidance_scale'):
        DiffusionPolicy(pipe_dir, guidance_scale=0.5)
