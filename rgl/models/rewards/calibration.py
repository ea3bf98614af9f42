"""TextNorm (Kim et al., ICLR 2024): rewards calibrated over contrastive
prompts, and ensembles of calibrated rewards.

For an image ``x`` generated from prompt ``p`` with contrastive prompts
``C(p)``, the calibrated reward of a reward model ``r`` is the softmax

    r̃(x, p) = exp(r(x, p) / τ) / Σ_{p' ∈ {p} ∪ C(p)} exp(r(x, p') / τ),

the model's confidence that ``x`` shows ``p`` rather than a contrastive
prompt. It lies in (0, 1) and does not change when a constant is added to
all of ``x``'s rewards. An ensemble combines the calibrated rewards
``r̃_1 .. r̃_M`` of M models:

- mean: ``r̄ = (1/M) Σ_m r̃_m``;
- uncertainty-regularised (UR): ``r̄ − λ · std_m(r̃_m)``, which penalises
  disagreement between the models.
"""
import torch
import torch.nn as nn

from rgl.registry import MODELS, TASK_UTILS
from rgl.utils.errors import ConfigError, DataError


def check_temperature(tau, owner='TextNorm'):
    """Raise :class:`ConfigError` unless ``τ > 0``."""
    try:
        ok = float(tau) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ConfigError(f'{owner}.tau must be a number > 0 (the softmax '
                          f'temperature τ); got {tau!r}')
    return float(tau)


def calibrate(rewards, tau=1.0):
    """Calibrated rewards from a reward table.

    Args:
        rewards (Tensor): ``(N, 1 + K)``: column 0 holds ``r(x_i, p_i)``,
            the other columns the rewards of the K contrastive prompts.
        tau (float): temperature τ > 0.

    Returns:
        Tensor: ``(N,)`` calibrated rewards in (0, 1).
    """
    tau = check_temperature(tau)
    rewards = torch.as_tensor(rewards)
    if rewards.dim() != 2:
        raise DataError(f'calibrate expects rewards (N, 1 + K); got shape '
                        f'{tuple(rewards.shape)}')
    if rewards.shape[1] < 2:
        raise DataError('calibration needs at least one contrastive prompt '
                        'per image (rewards of shape (N, 1 + K), K >= 1)')
    return torch.softmax(rewards.double() / tau, dim=1)[:, 0].to(
        rewards.dtype if rewards.is_floating_point() else torch.float64)


def ensemble(values, mode='mean', lam=1.0):
    """Combine the rewards of M models.

    Args:
        values (Tensor): ``(M, N)``: one row per model.
        mode (str): ``'mean'`` or ``'ur'`` (mean − λ · std over models; the
            population std, so one model gives its own reward).
        lam (float): λ ≥ 0 of the UR ensemble.

    Returns:
        Tensor: ``(N,)``.
    """
    values = torch.as_tensor(values)
    if values.dim() != 2 or values.shape[0] < 1:
        raise DataError(f'ensemble expects rewards (M, N); got shape '
                        f'{tuple(values.shape)}')
    mean = values.mean(0)
    if mode == 'mean':
        return mean
    if mode == 'ur':
        if float(lam) < 0:
            raise ConfigError(f'ensemble lambda must be >= 0; got {lam!r}')
        return mean - float(lam) * values.std(0, correction=0)
    raise ConfigError(f"ensemble mode must be 'mean' or 'ur'; got {mode!r}")


@MODELS.register_module()
class TextNormReward(nn.Module):
    """TextNorm: reward models, a contrastive prompt generator, and an
    ensemble of the calibrated rewards, behind the reward interface
    ``score(images, prompts) -> (N,)``.

    Args:
        reward_models (list[dict | nn.Module]): the M reward models.
        prompt_generator (dict | callable): prompt -> contrastive prompts
            (``CountingPrompts``, ``CompositionPrompts``, ``PromptSet``).
        tau (float | list[float]): temperature τ (one per model allowed).
        ensemble (str): ``'mean'`` or ``'ur'``.
        lam (float): λ of the UR ensemble.
        max_contrastive (int, optional): keep at most this many contrastive
            prompts per prompt (the first ones).
    """

    def __init__(self, reward_models, prompt_generator, tau=1.0,
                 ensemble='mean', lam=1.0, max_contrastive=None):
        super().__init__()
        if not reward_models:
            raise ConfigError('TextNormReward.reward_models is empty')
        self.reward_models = nn.ModuleList(
            MODELS.build(m) if isinstance(m, dict) else m
            for m in reward_models)
        taus = tau if isinstance(tau, (list, tuple)) else \
            [tau] * len(self.reward_models)
        if len(taus) != len(self.reward_models):
            raise ConfigError(f'TextNormReward.tau has {len(taus)} values for '
                              f'{len(self.reward_models)} reward models')
        self.taus = [check_temperature(t, 'TextNormReward') for t in taus]
        self.prompt_generator = (TASK_UTILS.build(prompt_generator)
                                 if isinstance(prompt_generator, dict)
                                 else prompt_generator)
        if ensemble not in ('mean', 'ur'):
            raise ConfigError(f"TextNormReward.ensemble must be 'mean' or "
                              f"'ur'; got {ensemble!r}")
        self.mode, self.lam = ensemble, float(lam)
        self.max_contrastive = max_contrastive

    def contrastive(self, prompt):
        """``C(p)`` without ``p`` itself or repeats, in order."""
        others = self.prompt_generator(prompt)
        seen, out = {prompt}, []
        for o in others:
            if o not in seen:
                seen.add(o)
                out.append(o)
        if self.max_contrastive is not None:
            out = out[:self.max_contrastive]
        if not out:
            raise DataError(f'prompt {prompt!r} has no contrastive prompts: '
                            'TextNorm cannot calibrate its reward')
        return out

    @torch.no_grad()
    def reward_tables(self, images, prompts):
        """Per model, per distinct prompt: the raw reward table
        ``(n_p, 1 + K_p)`` of the images generated from that prompt.

        Returns:
            tuple: ``(groups, tables)``: ``groups[p]`` the image indices of
            prompt ``p``; ``tables[m][p]`` the table of model ``m``.
        """
        if isinstance(prompts, str):
            prompts = [prompts] * len(images)
        groups = {}
        for i, p in enumerate(prompts):
            groups.setdefault(p, []).append(i)
        tables = [dict() for _ in self.reward_models]
        for p, idx in groups.items():
            row = [p] + self.contrastive(p)
            sub = images[idx] if isinstance(images, torch.Tensor) else \
                [images[i] for i in idx]
            for m, model in enumerate(self.reward_models):
                tables[m][p] = model.score_grid(sub, [row] * len(idx))
        return groups, tables

    @torch.no_grad()
    def score_all(self, images, prompts):
        """Raw, calibrated and ensembled rewards.

        Returns:
            dict: ``raw`` and ``calibrated`` ``(M, N)``, ``textnorm``
            ``(N,)``.
        """
        n = len(images)
        groups, tables = self.reward_tables(images, prompts)
        m_count = len(self.reward_models)
        raw = torch.zeros(m_count, n, dtype=torch.float64)
        cal = torch.zeros(m_count, n, dtype=torch.float64)
        for m in range(m_count):
            for p, idx in groups.items():
                t = tables[m][p].double()
                raw[m, idx] = t[:, 0]
                cal[m, idx] = calibrate(t, self.taus[m])
        return dict(raw=raw, calibrated=cal,
                    textnorm=ensemble(cal, self.mode, self.lam))

    def score(self, images, prompts):
        """``(N,)`` TextNorm rewards (the reward-model interface)."""
        return self.score_all(images, prompts)['textnorm'].float()
