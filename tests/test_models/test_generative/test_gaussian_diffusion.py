import numpy as np
import torch

from rgl.models.generative import GaussianDiffusion
from rgl.models.generative.gaussian_diffusion import normal_kl


def test_linear_schedule_values():
    diff = GaussianDiffusion.linear(1000)
    assert np.isclose(diff.betas[0], 1e-4) and np.isclose(diff.betas[-1], 0.02)
    np.testing.assert_allclose(diff.alphas_cumprod,
                               np.cumprod(1 - np.linspace(1e-4, 0.02, 1000)))
    t = 10
    beta_tilde = diff.betas[t] * (1 - diff.alphas_cumprod[t - 1]) / (
        1 - diff.alphas_cumprod[t])
    assert np.isclose(diff.posterior_variance[t], beta_tilde)


def test_q_sample_and_posterior_match_formulas():
    diff = GaussianDiffusion.linear(1000)
    x0, eps = torch.randn(2, 3, 4, 4, dtype=torch.float64), torch.randn(
        2, 3, 4, 4, dtype=torch.float64)
    t = torch.tensor([5, 700])
    x_t = diff.q_sample(x0, t, eps)
    ab = diff.alphas_cumprod[t.numpy()]
    ref = np.sqrt(ab)[:, None, None, None] * x0.numpy() + np.sqrt(
        1 - ab)[:, None, None, None] * eps.numpy()
    np.testing.assert_allclose(x_t.numpy(), ref)
    # x̂_0 from the true ε is exact
    torch.testing.assert_close(diff.predict_x0(x_t, t, eps), x0)
    # posterior mean: (√ᾱ_{t−1} β_t x_0 + √α_t (1−ᾱ_{t−1}) x_t) / (1−ᾱ_t)
    mean, _ = diff.q_posterior(x0, x_t, t)
    i = 1
    tt = 700
    ab_prev, ab_t, beta = diff.alphas_cumprod[tt - 1], diff.alphas_cumprod[
        tt], diff.betas[tt]
    ref = (np.sqrt(ab_prev) * beta * x0[i].numpy() + np.sqrt(1 - beta) *
           (1 - ab_prev) * x_t[i].numpy()) / (1 - ab_t)
    np.testing.assert_allclose(mean[i].numpy(), ref)


def test_respacing_keeps_alpha_bar_at_kept_steps():
    diff = GaussianDiffusion.linear(1000)
    spaced = diff.respace(250)
    assert spaced.num_timesteps == 250
    assert spaced.timestep_map[0] == 0 and spaced.timestep_map[-1] == 999
    np.testing.assert_allclose(spaced.alphas_cumprod,
                               diff.alphas_cumprod[spaced.timestep_map])


def test_learned_variance_interpolates_between_bounds():
    diff = GaussianDiffusion.linear(1000)
    x_t = torch.randn(2, 2, 2, 2, dtype=torch.float64)
    t = torch.tensor([100, 100])
    for v, ref in ((1.0, np.log(diff.betas[100])),
                   (-1.0, diff.posterior_log_variance_clipped[100])):
        out = torch.cat([torch.zeros_like(x_t), torch.full_like(x_t, v)], 1)
        _, log_var, _, _ = diff.p_mean_variance(out, x_t, t)
        np.testing.assert_allclose(log_var.numpy(), ref)


def test_normal_kl_and_hybrid_loss():
    m1, m2 = torch.randn(5), torch.randn(5)
    lv1, lv2 = torch.randn(5), torch.randn(5)
    ref = torch.distributions.kl_divergence(
        torch.distributions.Normal(m1, (0.5 * lv1).exp()),
        torch.distributions.Normal(m2, (0.5 * lv2).exp()))
    torch.testing.assert_close(normal_kl(m1, lv1, m2, lv2), ref)
    diff = GaussianDiffusion.linear(100)
    x0, eps = torch.randn(4, 2, 4, 4), torch.randn(4, 2, 4, 4)
    t = torch.tensor([0, 10, 50, 99])
    x_t = diff.q_sample(x0, t, eps)
    out = torch.cat([eps, torch.zeros_like(eps)], 1).requires_grad_()
    losses = diff.hybrid_loss(out, x0, x_t, t, eps)
    assert losses['loss_mse'].item() == 0
    assert losses['loss_vlb'].item() >= 0
    losses['loss_vlb'].backward()
    # L_vlb trains only the variance channels (the mean is stopped)
    assert out.grad[:, :2].abs().sum() == 0
    assert out.grad[:, 2:].abs().sum() > 0
