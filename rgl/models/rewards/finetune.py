"""Reward fine-tuning of a diffusers text-to-image pipeline (TextNorm's
three optimisers): best-of-n selection, supervised fine-tuning on the
selected samples, and a KL-regularised policy gradient over the sampler's
steps (DDPO, Black et al. 2023; DPOK, Fan et al. 2023), all with LoRA
adapters on the UNet through ``peft``.

The sampler is DDIM with ``η > 0``, so each step is a Gaussian policy

    π_θ(x_{t-1} | x_t, c) = N(μ_θ(x_t, t, c), σ_t² I),

with ``μ_θ`` the DDIM mean from the UNet's ε-prediction and
``σ_t = η √((1-ᾱ_{t-1})/(1-ᾱ_t) · (1-ᾱ_t/ᾱ_{t-1}))``. The policy-gradient
loss of a batch with rewards ``r_i`` is

    L = − mean_i A_i Σ_t log π_θ(x^i_{t-1} | x^i_t, c_i)
        + β mean_i Σ_t ||μ_θ − μ_ref||² / (2σ_t²),

with ``A_i`` the batch-normalised rewards and ``μ_ref`` the mean of the
pre-trained UNet (LoRA disabled): the second term is the KL divergence of
the two step Gaussians (DPOK's KL regulariser).
"""
import math

import torch
import torch.nn.functional as F

from rgl.utils.errors import CheckpointError, ConfigError


def item_generator(seed, index, device='cpu'):
    """The noise generator of item ``index``: results do not depend on the
    batch size or on a resume."""
    return torch.Generator(device).manual_seed(
        (int(seed) * 1_000_003 + int(index)) % (2**63))


def load_pipeline(path):
    """A ``StableDiffusionPipeline`` from a local ``save_pretrained``
    folder (never a hub name)."""
    import os.path as osp
    if not osp.isfile(osp.join(str(path), 'model_index.json')):
        raise CheckpointError(f'no diffusers pipeline at {path} '
                              '(model_index.json is missing)')
    from diffusers import StableDiffusionPipeline
    pipe = StableDiffusionPipeline.from_pretrained(
        path, local_files_only=True, safety_checker=None,
        requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


class DiffusionPolicy(torch.nn.Module):
    """A text-to-image pipeline as a policy over DDIM steps, with LoRA
    adapters on the UNet as the only trainable parameters.

    Args:
        pipeline (str | StableDiffusionPipeline): a local pipeline folder
            or a loaded pipeline.
        num_steps (int): sampler steps T.
        eta (float): DDIM η > 0 (the policy's noise).
        resolution (int): image side (a multiple of the VAE's factor).
        lora_rank (int): LoRA rank r.
        lora_alpha (float): LoRA α (scale α / r).
        lora_targets (Sequence[str]): UNet modules that get adapters.
        guidance_scale (float): classifier-free guidance w; the policy's
            prediction is ``u + w (c − u)`` with ``u`` the empty prompt's
            (1: no guidance, one UNet pass per step).
    """

    def __init__(self, pipeline, num_steps=10, eta=1.0, resolution=64,
                 lora_rank=4, lora_alpha=4.0,
                 lora_targets=('to_q', 'to_k', 'to_v', 'to_out.0'),
                 guidance_scale=1.0):
        super().__init__()
        if not float(guidance_scale) >= 1:
            raise ConfigError('DiffusionPolicy.guidance_scale must be >= 1 '
                              f'(1: no guidance); got {guidance_scale!r}')
        self.guidance_scale = float(guidance_scale)
        self._uncond = None
        if not eta > 0:
            raise ConfigError(f'DiffusionPolicy.eta must be > 0 (a '
                              f'stochastic policy); got {eta}')
        pipe = load_pipeline(pipeline) if isinstance(pipeline, str) \
            else pipeline
        from peft import LoraConfig
        self.unet, self.vae = pipe.unet, pipe.vae
        self.text_encoder, self.tokenizer = pipe.text_encoder, pipe.tokenizer
        for m in (self.unet, self.vae, self.text_encoder):
            m.requires_grad_(False)
        self.unet.add_adapter(LoraConfig(
            r=lora_rank, lora_alpha=lora_alpha, init_lora_weights='gaussian',
            target_modules=list(lora_targets)))
        # DDIM over the pipeline's noise schedule (SD 2.1 ships another
        # scheduler class); ε- or v-prediction UNets (SD 2.1 768 is v)
        from diffusers import DDIMScheduler
        self.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
        self.prediction_type = self.scheduler.config.prediction_type
        if self.prediction_type not in ('epsilon', 'v_prediction'):
            raise ConfigError(
                'DiffusionPolicy: the scheduler prediction_type must be '
                f"'epsilon' or 'v_prediction'; got {self.prediction_type!r}")
        self.scheduler.set_timesteps(num_steps)
        self.num_steps, self.eta = int(num_steps), float(eta)
        factor = 2**(len(self.vae.config.block_out_channels) - 1)
        self.latent_size = resolution // factor
        self.resolution = resolution

    def lora_parameters(self):
        return [p for n, p in self.unet.named_parameters() if 'lora' in n]

    def lora_state_dict(self):
        from peft.utils import get_peft_model_state_dict
        return {k: v.detach().cpu().clone() for k, v in
                get_peft_model_state_dict(self.unet).items()}

    def load_lora_state_dict(self, state):
        from peft.utils import set_peft_model_state_dict
        set_peft_model_state_dict(self.unet, state)

    @torch.no_grad()
    def encode_prompts(self, prompts):
        tok = self.tokenizer(list(prompts), padding='max_length',
                             truncation=True, return_tensors='pt',
                             max_length=self.tokenizer.model_max_length)
        return self.text_encoder(tok.input_ids.to(self.unet.device))[0]

    def _alphas(self, t):
        ac = self.scheduler.alphas_cumprod
        prev_t = t - self.scheduler.config.num_train_timesteps // \
            self.num_steps
        a_t = ac[t]
        a_prev = ac[prev_t] if prev_t >= 0 else \
            self.scheduler.final_alpha_cumprod
        return float(a_t), float(a_prev)

    def predict(self, x_t, t, emb):
        """The UNet's output, guided by ``guidance_scale`` (one batched
        pass over the conditional and unconditional inputs)."""
        if self.guidance_scale == 1:
            return self.unet(x_t, t, encoder_hidden_states=emb).sample
        if self._uncond is None:
            self._uncond = self.encode_prompts([''])
        uncond = self._uncond.to(emb).expand(len(emb), -1, -1)
        both = self.unet(torch.cat([x_t, x_t]), t,
                         encoder_hidden_states=torch.cat([uncond, emb])
                         ).sample
        u, c = both.chunk(2)
        return u + self.guidance_scale * (c - u)

    def step_mean_std(self, x_t, t, emb, adapters=True):
        """``(μ, σ)`` of ``π(x_{t-1} | x_t, c)``; the pre-trained UNet's
        when ``adapters`` is False."""
        a_t, a_prev = self._alphas(int(t))
        if adapters:
            out = self.predict(x_t, t, emb)
        else:
            self.unet.disable_adapters()
            try:
                out = self.predict(x_t, t, emb)
            finally:
                self.unet.enable_adapters()
        if self.prediction_type == 'v_prediction':
            # v = √ᾱ ε − √(1−ᾱ) x_0  (Salimans & Ho)
            x0 = math.sqrt(a_t) * x_t - math.sqrt(1 - a_t) * out
            eps = math.sqrt(1 - a_t) * x_t + math.sqrt(a_t) * out
        else:
            eps = out
            x0 = (x_t - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)
        var = (1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)
        std = self.eta * math.sqrt(max(var, 0.0))
        mean = math.sqrt(a_prev) * x0 + math.sqrt(
            max(1 - a_prev - std**2, 0.0)) * eps
        return mean, max(std, 1e-8)

    @staticmethod
    def log_prob(x_prev, mean, std):
        """Per-sample Gaussian log-density, summed over latent dims."""
        d = x_prev[0].numel()
        sq = ((x_prev - mean)**2).flatten(1).sum(1)
        return -sq / (2 * std**2) - d * (math.log(std)
                                         + 0.5 * math.log(2 * math.pi))

    @torch.no_grad()
    def sample(self, prompts, seed=0, start_index=0):
        """Sample one image per prompt, keeping the trajectory.

        Returns:
            dict: ``images`` ``(N, 3, H, W)`` in [0, 1], ``latents``
            ``(T + 1, N, C, h, w)``, ``log_probs`` ``(T, N)``,
            ``embeddings``.
        """
        n = len(prompts)
        emb = self.encode_prompts(prompts)
        shape = (4, self.latent_size, self.latent_size)
        gens = [item_generator(seed, start_index + i) for i in range(n)]
        x = torch.stack([torch.randn(shape, generator=g) for g in gens]
                        ).to(self.unet.device)
        traj, logps = [x], []
        for t in self.scheduler.timesteps:
            mean, std = self.step_mean_std(x, t, emb)
            noise = torch.stack([torch.randn(shape, generator=g)
                                 for g in gens]).to(x.device)
            x = mean + std * noise
            traj.append(x)
            logps.append(self.log_prob(x, mean, std))
        images = self.decode(x)
        return dict(images=images, latents=torch.stack(traj),
                    log_probs=torch.stack(logps), embeddings=emb)

    def decode(self, latents):
        sf = self.vae.config.scaling_factor
        img = self.vae.decode(latents / sf).sample
        return ((img + 1) / 2).clamp(0, 1)

    def encode(self, images):
        sf = self.vae.config.scaling_factor
        return self.vae.encode(images * 2 - 1).latent_dist.mean * sf


def normalised_advantages(rewards, eps=1e-8):
    r = torch.as_tensor(rewards, dtype=torch.float32)
    if r.numel() < 2:
        return r - r
    return (r - r.mean()) / (r.std() + eps)


def policy_gradient_loss(policy, batch, rewards, beta=0.01):
    """The KL-regularised policy-gradient loss of a sampled batch.

    Args:
        policy (DiffusionPolicy): the policy that sampled ``batch``.
        batch (dict): :meth:`DiffusionPolicy.sample`'s output.
        rewards (Tensor): ``(N,)`` rewards of the batch's images.
        beta (float): β of the KL term (0: DDPO without KL).

    Returns:
        dict: ``loss``, ``loss_pg`` and ``kl`` (detached parts).
    """
    adv = normalised_advantages(rewards).to(batch['latents'].device)
    emb = batch['embeddings']
    pg = kl = 0.0
    for k, t in enumerate(policy.scheduler.timesteps):
        x_t, x_prev = batch['latents'][k], batch['latents'][k + 1]
        mean, std = policy.step_mean_std(x_t, t, emb)
        logp = policy.log_prob(x_prev, mean, std)
        pg = pg - (adv * logp).mean()
        if beta > 0:
            with torch.no_grad():
                ref, _ = policy.step_mean_std(x_t, t, emb, adapters=False)
            kl = kl + ((mean - ref)**2).flatten(1).sum(1).mean() / (
                2 * std**2)
    loss = pg + beta * kl
    return dict(loss=loss, loss_pg=float(pg.detach()),
                kl=float(kl.detach()) if beta > 0 else 0.0)


def supervised_loss(policy, images, prompts, seed=0, start_index=0):
    """The denoising loss ``E ||ε − ε_θ(x_t, t, c)||²`` on (selected)
    images, for supervised fine-tuning on best-of-n samples (the target is
    ``v = √ᾱ ε − √(1−ᾱ) x_0`` for a v-prediction UNet)."""
    with torch.no_grad():
        z0 = policy.encode(images)
        emb = policy.encode_prompts(prompts)
    n = z0.shape[0]
    gens = [item_generator(seed, start_index + i) for i in range(n)]
    eps = torch.stack([torch.randn(z0.shape[1:], generator=g)
                       for g in gens]).to(z0.device)
    steps = policy.scheduler.config.num_train_timesteps
    t = torch.stack([torch.randint(0, steps, (), generator=g)
                     for g in gens]).to(z0.device)
    a = policy.scheduler.alphas_cumprod.to(z0.device)[t].view(-1, 1, 1, 1)
    x_t = a.sqrt() * z0 + (1 - a).sqrt() * eps
    pred = policy.unet(x_t, t, encoder_hidden_states=emb).sample
    target = eps
    if getattr(policy, 'prediction_type', 'epsilon') == 'v_prediction':
        target = a.sqrt() * eps - (1 - a).sqrt() * z0
    return F.mse_loss(pred, target)


@torch.no_grad()
def best_of_n(policy, reward_fn, prompts, n, seed=0):
    """Sample ``n`` images per prompt and keep the one of highest reward.

    Args:
        reward_fn (callable): ``(images, prompts) -> (N,)`` rewards.

    Returns:
        dict: ``images`` ``(P, 3, H, W)``, ``rewards`` ``(P,)``, ``index``
        ``(P,)`` (the chosen sample of each prompt), ``all_rewards``
        ``(P, n)``.
    """
    rep = [p for p in prompts for _ in range(n)]
    out = policy.sample(rep, seed=seed)
    r = torch.as_tensor(reward_fn(out['images'], rep)).view(len(prompts), n)
    idx = r.argmax(1)
    imgs = out['images'].view(len(prompts), n, *out['images'].shape[1:])
    return dict(images=imgs[torch.arange(len(prompts)), idx],
                rewards=r.max(1).values, index=idx, all_rewards=r)


def hacking_steps(raw, calibrated, window=3):
    """Steps where the raw reward rises while the calibrated reward falls
    (reward hacking), judged on moving averages over ``window`` steps.

    Returns:
        list[int]: the indices of the last step of each window whose
        averages moved that way.
    """
    def smooth(v):
        v = torch.as_tensor(v, dtype=torch.float64)
        k = torch.ones(window, dtype=torch.float64) / window
        return torch.nn.functional.conv1d(v.view(1, 1, -1),
                                          k.view(1, 1, -1)).view(-1)
    if len(raw) < window + 1:
        return []
    dr, dc = smooth(raw).diff(), smooth(calibrated).diff()
    return [int(i) + window for i in torch.nonzero((dr > 0) & (dc < 0))
            .view(-1)]
