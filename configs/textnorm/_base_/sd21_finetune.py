# Reward fine-tuning of Stable Diffusion 2.1 (TextNorm, Kim et al., ICLR
# 2024, Section 5). Weights come from local folders only: `pipeline` is a
# diffusers `save_pretrained` folder of SD 2.1 (stable-diffusion-2-1-base,
# 512 px, epsilon-prediction; the 768 px v-prediction model works too with
# policy.resolution=768), the reward models are those of
# _base_/reward_models.py.
#
# Provenance of the numbers: the paper's fine-tuning hyper-parameters could
# not be read in this environment (docs/methods/textnorm.md). The values
# below are rgl's choices in the range DDPO / DPOK use for SD LoRA
# fine-tuning (50 DDIM steps, eta 1, guidance 7.5, LoRA rank 4, lr 1e-5,
# KL weight 0.01); change them when the paper's values are known.
_base_ = ['./reward_models.py']
pipeline = 'weights/stable-diffusion-2-1-base'
reward = dict(
    type='TextNormReward',
    # ImageReward's package does not import on this stack (see
    # rgl/models/rewards/image_reward.py); add {{_base_.reward_models
    # .imagereward}} where it does
    reward_models=[{{_base_.reward_models.clip}},
                   {{_base_.reward_models.pickscore}}],
    prompt_generator=dict(type='CountingPrompts'),
    # the released TIA2 UR files record scale 3.0 and lambda 1.0
    tau=1 / 3,
    ensemble='ur',
    lam=1.0)
# counting prompts in the TIA2 style (replace with your prompt list)
prompts = [
    'a realistic photo of two apples', 'a realistic photo of three cats',
    'a realistic photo of four dogs', 'a realistic photo of two birds',
    'a realistic photo of three cups', 'a realistic photo of five books',
    'a realistic photo of two airplanes', 'a realistic photo of four chairs'
]
gallery_prompts = prompts[:4]
policy = dict(num_steps=50, eta=1.0, resolution=512, guidance_scale=7.5,
              lora_rank=4, lora_alpha=4.0,
              lora_targets=('to_q', 'to_k', 'to_v', 'to_out.0'))
train = dict(steps=1000, batch_size=8, lr=1e-5, beta=0.01, n=4,
             save_every=100, eval_repeats=2, objective='textnorm')
