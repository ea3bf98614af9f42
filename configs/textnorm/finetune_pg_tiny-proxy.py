# CPU proxy of TextNorm's RL fine-tuning: a tiny random pipeline and a tiny
# random CLIP reward, written by tools/textnorm/make_proxy.py. Shows the
# mechanics (calibrated reward logged and optimised, hacking detection),
# not the paper's numbers.
proxy = 'work_dirs/textnorm_proxy'
pipeline = proxy + '/pipe'
tiny_clip = dict(
    embed_dim=16,
    vision_cfg=dict(image_size=32, layers=1, width=32, head_width=16,
                    patch_size=16),
    text_cfg=dict(context_length=77, vocab_size=49408, width=16, heads=2,
                  layers=1))
reward = dict(
    type='TextNormReward',
    reward_models=[
        dict(type='CLIPScore', model_name='tiny',
             checkpoint=proxy + '/clip.bin', model_cfg=tiny_clip),
    ],
    prompt_generator=dict(type='CountingPrompts'),
    tau=0.05, ensemble='mean')
prompts = ['a photo of an apple', 'a photo of two cats',
           'a photo of three dogs', 'a photo of a bird']
method = 'pg'
policy = dict(num_steps=4, eta=1.0, resolution=16, lora_rank=4,
              lora_alpha=4.0)
train = dict(steps=40, batch_size=8, lr=1e-2, beta=0.01, save_every=5,
             eval_repeats=4, objective='textnorm')
